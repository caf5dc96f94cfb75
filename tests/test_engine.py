import asyncio

from scanner.engine import Engine
from scanner.settings import Settings


async def _until(condition, rounds=100):
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)


async def test_admit_lets_one_scan_in_at_a_time_and_nests_within_a_task():
    engine = Engine(Settings(max_active_scans=1))
    order: list[str] = []
    release = asyncio.Event()

    async def first():
        async with engine.admit(), engine.admit():
            order.append("first in")
            await release.wait()
        order.append("first out")

    async def second():
        async with engine.admit():
            order.append("second in")

    one = asyncio.ensure_future(first())
    await _until(lambda: order)
    two = asyncio.ensure_future(second())
    await _until(lambda: len(order) > 1, rounds=20)
    waiting = list(order)
    release.set()
    await asyncio.gather(one, two)

    assert waiting == ["first in"]
    assert order == ["first in", "first out", "second in"]


def test_max_active_scans_defaults_to_twice_the_pool():
    engine = Engine(Settings(pool_size=3))

    assert engine._slots._value == 6
