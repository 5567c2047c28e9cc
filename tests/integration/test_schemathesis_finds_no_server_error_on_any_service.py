"""Every operation of each service's /openapi.json, fuzzed by schemathesis against a real balancer
(and a simulated agent, so that valid requests are answered at once): no 5xx, no crash, and every
4xx says what is wrong. Bounded: a few examples per operation, valid and invalid."""

import os
from typing import Any

import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.integration.conftest import Cluster, smollm2_state

INFERENCE_KEY = "inference-key"
MANAGEMENT_TOKEN = "management-token"
# Few in CI; more for a deeper run by hand (PADDLER_FUZZ_EXAMPLES=200).
EXAMPLES_PER_OPERATION = int(os.environ.get("PADDLER_FUZZ_EXAMPLES", "8"))
# SSE streams never end: they are covered by their own tests.
NEVER_ENDING = r"/stream$"


def check_answer(case: Any, response: requests.Response) -> None:
    described = (
        f"{case.method} {case.path} {case.body!r:.300} -> {response.status_code} {response.text[:300]}"
    )
    assert response.status_code < 500, described
    if response.status_code >= 400:
        error = orjson.loads(response.content)["error"]
        # The inference and management shape, or the OpenAI one.
        message = error.get("description") or error.get("message")
        assert isinstance(message, str), described
        assert message.strip(), described


@pytest.mark.slow
@pytest.mark.parametrize("service", ["inference", "management", "openai"])
async def test_schemathesis_finds_no_server_error_on_any_service(cluster: Cluster, service: str) -> None:
    await cluster.start_balancer(
        "--compat-openai-addr",
        cluster.openai_addr,
        "--inference-api-key",
        INFERENCE_KEY,
        "--management-token",
        MANAGEMENT_TOKEN,
        # Valid requests stay short; a request waiting for a slot gives up fast.
        "--max-tokens-limit",
        "4",
        "--buffered-request-timeout",
        "500",
    )
    cluster.http.headers["Authorization"] = f"Bearer {MANAGEMENT_TOKEN}"
    # A state with embeddings on: without one, embedding batches are refused with 503/501 at once.
    await cluster.put_state(smollm2_state(enable_embeddings=True))
    cluster.start_simulated_agents("simulated", 1, 8)
    base_url, token = {
        "inference": (cluster.inference_url, INFERENCE_KEY),
        "management": (cluster.management_url, MANAGEMENT_TOKEN),
        "openai": (f"http://{cluster.openai_addr}", INFERENCE_KEY),
    }[service]
    headers = {"Authorization": f"Bearer {token}"}
    await cluster.wait_for_agents(lambda agents: len(agents) == 1, "the simulated agent")

    # Served without credentials.
    document = (await cluster.http.get(f"{base_url}/openapi.json", headers={"Authorization": ""})).json()
    schema = schemathesis.openapi.from_dict(document).exclude(path_regex=NEVER_ENDING)
    operations = []
    for result in schema.get_all_operations():
        # An operation schemathesis cannot read is a bug in the document.
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 5
    session = requests.Session()

    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=headers),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=headers),
        )

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=10)
            check_answer(case, response)

        try:
            fuzz()
        except Exception as error:
            assert cluster.balancer is not None
            error.add_note(f"balancer log:\n{cluster.balancer.output()[-4000:]}")
            raise

    # Still serving after all of it.
    assert (await cluster.http.get(f"{base_url}/health")).text == "OK"
    assert cluster.balancer is not None
    assert cluster.balancer.popen.poll() is None
