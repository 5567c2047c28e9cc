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


def test_a_management_token_without_an_agent_secret_is_reported_on_every_address() -> None:
    for address in ("127.0.0.1:8060", "0.0.0.0:8060"):
        open_to_agents = BalancerConfig(management_addr=address, management_token="t")
        warning = open_to_agents.open_agent_registration()
        assert warning is not None
        assert "--agent-secret" in warning
        assert address in warning
        # Said once, not again among the exposures.
        assert not any("agent sockets" in exposure for exposure in open_to_agents.unprotected_exposures())
    assert BalancerConfig(management_token="t", agent_secret="s").open_agent_registration() is None
    assert BalancerConfig().open_agent_registration() is None
