from paddler.balancer.dispatch.agent_controller_pool import AgentControllerPool
from paddler.balancer.dispatch.buffered_request_manager import BufferBudget
from paddler.balancer.dispatch.model_pools import ModelPools, NameTaken, PoolChange
from paddler.balancer.dispatch.state_database import MemoryStateDatabase
from paddler.protocol.model_pool import MAX_POOLS, ModelPoolSettings


def pools() -> ModelPools:
    return ModelPools(AgentControllerPool(), MemoryStateDatabase(), BufferBudget(10), 1.0)


async def test_the_default_pool_alone_serves_any_model_name() -> None:
    registry = pools()

    assert registry.resolve("gpt-4o") is registry.default
    assert registry.resolve(None) is registry.default
    assert not registry.several


async def test_with_several_pools_a_model_selects_by_name_or_alias_and_an_unknown_one_selects_none() -> None:
    registry = pools()
    await registry.put("qwen", ModelPoolSettings(aliases=["qwen3:8b"]))

    assert registry.resolve("qwen") is registry.pools["qwen"]
    assert registry.resolve("qwen3:8b") is registry.pools["qwen"]
    assert registry.resolve("default") is registry.default
    assert registry.resolve(None) is registry.default
    assert registry.resolve("gpt-4o") is None


async def test_a_name_that_selects_another_pool_is_refused() -> None:
    registry = pools()
    await registry.put("qwen", ModelPoolSettings(aliases=["q"]))

    assert await registry.put("other", ModelPoolSettings(aliases=["q"])) == NameTaken("q", "qwen")
    assert await registry.put("q", ModelPoolSettings()) == NameTaken("q", "qwen")
    assert await registry.put("qwen", ModelPoolSettings(aliases=["q", "q2"])) is PoolChange.UPDATED


async def test_a_deleted_pool_selects_nothing_and_goes_when_its_last_request_ends() -> None:
    registry = pools()
    await registry.put("qwen", ModelPoolSettings())
    await registry.put("llama", ModelPoolSettings())
    qwen = registry.pools["qwen"]
    qwen.request_started()

    assert await registry.delete("qwen") is PoolChange.DELETED
    assert registry.resolve("qwen") is None
    assert "qwen" in registry.pools
    registry.request_ended(qwen)
    assert "qwen" not in registry.pools


async def test_a_pool_past_the_most_a_cluster_holds_is_refused_and_a_change_still_taken() -> None:
    registry = pools()
    for number in range(MAX_POOLS - 1):
        await registry.put(f"pool-{number}", ModelPoolSettings())

    assert await registry.put("one-more", ModelPoolSettings()) is PoolChange.TOO_MANY_POOLS
    assert await registry.put("pool-0", ModelPoolSettings(max_concurrency=1)) is PoolChange.UPDATED
    assert len(registry.pools) == MAX_POOLS


async def test_the_default_pool_cannot_be_deleted_and_an_unknown_one_is_not_found() -> None:
    registry = pools()

    assert await registry.delete("default") is PoolChange.DEFAULT_CANNOT_BE_DELETED
    assert await registry.delete("nowhere") is PoolChange.NOT_FOUND


async def test_the_stored_pools_are_those_a_new_registry_loads() -> None:
    database = MemoryStateDatabase()
    registry = ModelPools(AgentControllerPool(), database, BufferBudget(10), 1.0)
    await registry.put("qwen", ModelPoolSettings(max_concurrency=2))

    reloaded = ModelPools(AgentControllerPool(), database, BufferBudget(10), 1.0)
    await reloaded.load()

    assert set(reloaded.pools) == {"default", "qwen"}
    assert reloaded.pools["qwen"].settings.max_concurrency == 2
    # The default pool had no state set: agents still get nothing to apply.
    assert reloaded.default.applicable_state is None
