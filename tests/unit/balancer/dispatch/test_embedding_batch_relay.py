import pytest

from paddler.balancer.dispatch.embedding_batch_relay import split_batch


@pytest.mark.parametrize(
    ("size", "parts", "sizes"),
    [(10, 3, [4, 3, 3]), (2, 5, [1, 1]), (5, 0, [5]), (4, 4, [1, 1, 1, 1])],
)
def test_a_batch_splits_into_contiguous_nearly_equal_parts(size: int, parts: int, sizes: list[int]) -> None:
    documents = list(range(size))

    split = split_batch(documents, parts)

    assert [len(part) for part in split] == sizes
    assert [document for part in split for document in part] == documents
