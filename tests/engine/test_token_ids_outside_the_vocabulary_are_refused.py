from paddler.agent import ErrorKind, InferenceEngine
from tests.engine.generation import collect


async def test_token_ids_outside_the_vocabulary_are_refused(engine: InferenceEngine) -> None:
    outcome = await collect(engine, [1, 2, 10_000_000])

    assert outcome.failed.kind is ErrorKind.INVALID_REQUEST
    assert "outside the vocabulary" in outcome.failed.message
