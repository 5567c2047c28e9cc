from paddler.bootstrap.balancer_config import BalancerConfig, is_loopback


def test_loopback_addresses_are_recognised() -> None:
    assert is_loopback("127.0.0.1:8061")
    assert is_loopback("[::1]:8061")
    assert is_loopback("localhost:8061")
    assert not is_loopback("0.0.0.0:8061")
    assert not is_loopback("example.internal:8061")


def test_every_service_open_beyond_loopback_without_credentials_is_reported() -> None:
    assert BalancerConfig().unprotected_exposures() == []
    exposed = BalancerConfig(
        inference_addr="0.0.0.0:8061", management_addr="0.0.0.0:8060", compat_openai_addr="0.0.0.0:8062"
    ).unprotected_exposures()
    assert len(exposed) == 4
    protected = BalancerConfig(
        inference_addr="0.0.0.0:8061",
        management_addr="0.0.0.0:8060",
        compat_openai_addr="0.0.0.0:8062",
        inference_api_keys=["k"],
        management_token="t",
        agent_secret="s",
    )
    assert protected.unprotected_exposures() == []
