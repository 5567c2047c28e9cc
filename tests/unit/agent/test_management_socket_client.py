import pytest

from paddler.agent.management_socket_client import management_host_port, management_socket_base


@pytest.mark.parametrize(
    ("address", "base"),
    [
        ("10.0.0.2:8060", "ws://10.0.0.2:8060"),
        ("ws://10.0.0.2:8060", "ws://10.0.0.2:8060"),
        ("http://10.0.0.2:8060/", "ws://10.0.0.2:8060"),
        ("wss://balancer.internal:8060", "wss://balancer.internal:8060"),
        ("HTTPS://[::1]:8060", "wss://[::1]:8060"),
    ],
)
def test_a_management_address_becomes_the_sockets_base_url(address: str, base: str) -> None:
    assert management_socket_base(address) == base
    assert management_host_port(address) == base.partition("://")[2]


def test_another_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="the scheme must be ws, wss, http or https"):
        management_socket_base("ftp://10.0.0.2:8060")
