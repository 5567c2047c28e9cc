"""etcd: the model pools shared by the balancers of one cluster, and their leader election."""
