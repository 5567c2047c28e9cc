from paddler_client import ClientInference
from paddler_client.continue_from_conversation_history_params import ContinueFromConversationHistoryParams
from paddler_client.continue_from_raw_prompt_params import ContinueFromRawPromptParams
from paddler_client.conversation_message import ConversationMessage
from paddler_client.embedding_input_document import EmbeddingInputDocument
from paddler_client.embedding_normalization_method import EmbeddingNormalizationMethod
from paddler_client.generate_embedding_batch_params import GenerateEmbeddingBatchParams
from paddler_client.inference_message import InferenceMessage, InferenceMessageKind

from tests.integration.conftest import Cluster, chat_prompt

CONVERSATION = ContinueFromConversationHistoryParams(
    add_generation_prompt=True,
    conversation_history=[ConversationMessage(role="user", content="What is the capital of France?")],
    enable_thinking=False,
    max_tokens=6,
)


def text_and_done(messages: list[InferenceMessage]) -> tuple[str, bool]:
    text = "".join(message.token or "" for message in messages if message.is_token)
    return text, messages[-1].is_done


async def test_the_official_client_generates_over_the_socket_and_ndjson(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1, slots=2, enable_embeddings=True, pooling_type="Mean")

    async with ClientInference(cluster.inference_url) as client:
        assert await client.get_health() == "OK"
        socket_conversation = [
            message async for message in await client.continue_from_conversation_history(CONVERSATION)
        ]
        socket_raw = [
            message
            async for message in await client.continue_from_raw_prompt(
                ContinueFromRawPromptParams(raw_prompt=chat_prompt("Say hello."), max_tokens=4)
            )
        ]
        ndjson_conversation = [
            message async for message in client.post_continue_from_conversation_history(CONVERSATION)
        ]
        embeddings = [
            message
            async for message in client.generate_embedding_batch(
                GenerateEmbeddingBatchParams(
                    input_batch=[EmbeddingInputDocument(id="1", content="Hi")],
                    normalization_method=EmbeddingNormalizationMethod.l2(),
                )
            )
        ]

    socket_text, socket_done = text_and_done(socket_conversation)
    assert socket_text
    assert socket_done
    assert socket_conversation[-1].summary is not None
    assert socket_conversation[-1].summary.usage.content_tokens == len(socket_conversation) - 1
    assert text_and_done(socket_raw)[1]
    # Greedy: the same conversation over NDJSON gives the same answer.
    assert text_and_done(ndjson_conversation) == (socket_text, True)
    assert [message.kind for message in embeddings] == [
        InferenceMessageKind.EMBEDDING,
        InferenceMessageKind.EMBEDDING_DONE,
    ]
    assert embeddings[0].embedding_data is not None
    assert embeddings[0].embedding_data.source_document_id == "1"
    assert len(embeddings[0].embedding_data.embedding) == 576
