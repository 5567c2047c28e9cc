import httpx

from tests.integration.conftest import Cluster, smollm2_state, wait_until
from tests.integration.tls_certificates import make_tls_certificates


async def test_an_agent_that_does_not_trust_the_balancers_certificate_refuses_it_and_says_why(
    cluster: Cluster,
) -> None:
    tls = make_tls_certificates(cluster.tmp_path)
    cluster.scheme = "https"
    cluster.http = httpx.AsyncClient(verify=tls.trusting_context(), timeout=30.0)
    try:
        await cluster.start_balancer(*tls.balancer_flags())
        await cluster.put_state(smollm2_state())
        wss = f"wss://{cluster.management_addr}"
        # Without --tls-ca it checks the certificate against the system's CAs, which never signed it.
        doubter = cluster.start_agent("doubter", extra=("--management-addr", wss))

        async def told() -> bool:
            return "the balancer's TLS certificate is not trusted" in doubter.output()

        await wait_until(told, what="the agent to say why it refuses the balancer")
        assert "pass --tls-ca with the certificate of the CA that signed it" in doubter.output()
        assert await cluster.agents_snapshot() == []
        # It keeps trying (the balancer may come back with another certificate) and stops cleanly.
        assert doubter.popen.poll() is None
        assert doubter.stop() == 0
        cluster.agents.remove(doubter)

        cluster.start_agent("trusting", extra=("--management-addr", wss, "--tls-ca", str(tls.ca)))
        await cluster.assert_agents_alive_and_serving()
    finally:
        await cluster.http.aclose()
