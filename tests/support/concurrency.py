"""Requests sent at the same moment, one thread a client."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def at_once(clients: list[Any], call: Callable[[Any, int], int]) -> list[int]:
    """Run `call(client, index)` on every client at the same moment; return the statuses,
    sorted."""
    start = threading.Barrier(len(clients))

    def run(index: int) -> int:
        start.wait()
        return call(clients[index], index)

    with ThreadPoolExecutor(len(clients)) as pool:
        return sorted(pool.map(run, range(len(clients))))
