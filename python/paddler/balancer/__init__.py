"""The balancer: agent pool, buffered requests and the HTTP services.

Never imports `paddler.agent`: the balancer runs without llama.cpp.
"""
