from paddler.balancer.dispatch.request_limits import LimitExceeded, RequestLimits


def test_max_tokens_within_the_ceiling_pass_and_no_limit_means_the_ceiling() -> None:
    limits = RequestLimits(max_tokens=100)
    assert limits.token_limit(100) == 100
    assert limits.token_limit(-1) == 100
    refused = limits.token_limit(101)
    assert isinstance(refused, LimitExceeded)
    assert "--max-tokens-limit" in refused.message


def test_a_zero_ceiling_is_no_ceiling() -> None:
    assert RequestLimits(max_tokens=0).token_limit(-1) == -1


def test_conversations_are_bounded_in_messages_and_characters() -> None:
    limits = RequestLimits(max_conversation_messages=2, max_conversation_chars=10)
    assert limits.check_conversation(["hello", "world"]) is None
    too_many = limits.check_conversation(["a", "b", "c"])
    assert isinstance(too_many, LimitExceeded)
    assert "3 messages" in too_many.message
    too_long = limits.check_conversation(["hello", "world!"])
    assert isinstance(too_long, LimitExceeded)
    assert "11 characters" in too_long.message
