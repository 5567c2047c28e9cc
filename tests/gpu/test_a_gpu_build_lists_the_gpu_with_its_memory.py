from tests.gpu.conftest import the_gpu


def test_a_gpu_build_lists_the_gpu_with_its_memory() -> None:
    gpu = the_gpu()

    assert gpu.description
    assert gpu.memory_total > 1 << 30
    assert 0 < gpu.memory_free <= gpu.memory_total
