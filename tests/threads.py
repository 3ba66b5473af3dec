"""Running the same work from many threads at once, for the concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def at_once(count: int, work: Callable[[int], object], *, what: str = "a thread") -> list:
    """Call work(0) .. work(count - 1) from `count` threads released together; their results.

    An exception in any thread fails the test with it (and releases the others).
    """
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as error:  # reported below, with its thread
            errors.append((index, repr(error)))
            barrier.abort()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), f"{what} hung"
    assert errors == [], errors
    return results
