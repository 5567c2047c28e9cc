from starlette.datastructures import Headers

from paddler.balancer.http.bearer_auth import bearer_token, token_matches, websocket_close_reason


def test_a_token_matches_only_one_of_the_accepted_ones() -> None:
    accepted = [b"first", b"second"]
    assert token_matches("second", accepted)
    assert not token_matches("secon", accepted)
    assert not token_matches(None, accepted)
    # Not ASCII: compared as bytes, never a TypeError.
    assert not token_matches("sécond", accepted)


def test_the_bearer_scheme_is_case_insensitive_and_other_schemes_are_no_token() -> None:
    assert bearer_token(Headers({"authorization": "bearer abc"})) == "abc"
    assert bearer_token(Headers({"authorization": "Basic abc"})) is None
    assert bearer_token(Headers({"authorization": "Bearer "})) is None
    assert bearer_token(Headers({})) is None


def test_a_close_reason_is_cut_to_the_123_bytes_a_close_frame_holds_never_inside_a_character() -> None:
    reason = websocket_close_reason("é" * 100)
    assert len(reason.encode()) <= 123
    assert reason == "é" * 61
