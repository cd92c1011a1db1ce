"""Passwords are hashed and verified off the event loop, at the production cost."""

import asyncio

from app.core.security import Passwords


def ticks_while(*, hashes: int) -> int:
    """Return how often a 1 ms ticker ran on the loop while `hashes` hashes were made."""
    passwords = Passwords(time_cost=3, memory_cost=65536, workers=1)

    async def scenario() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        running = asyncio.create_task(ticker())
        stored = await asyncio.gather(*(passwords.hash(f"secret-{i}") for i in range(hashes)))
        verified = await passwords.verify("secret-0", stored[0])
        wrong = await passwords.verify("secret-1", stored[0])
        unknown = await passwords.verify("secret-0", None)
        running.cancel()
        assert verified[0] and not wrong[0] and not unknown[0]
        return ticks

    return asyncio.run(scenario())


def test_hashing_leaves_the_event_loop_free() -> None:
    """Four hashes and three checks at 64 MiB, t=3: the loop keeps ticking all along.

    On the loop they would block it for their whole length (no tick at all); in the
    password thread the ticker runs about once a millisecond meanwhile.
    """
    assert ticks_while(hashes=4) >= 50
