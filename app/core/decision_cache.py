"""The decision cache: answers per subject, bounded by entries and by bytes."""

import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

# The decision cache's bounds: entries, and an estimate of the bytes they hold.
CACHE_LIMIT = 200_000
CACHE_BYTES = 64 * 2**20


class DecisionCache:
    """Answers per subject (decisions and scopes), bounded by entries and by an estimate of
    their bytes; dropping one subject's answers is one dictionary operation."""

    ENTRY_BYTES = 200  # a key tuple, its dictionary slot and the answer, roughly

    def __init__(self, entries: int = CACHE_LIMIT, nbytes: int = CACHE_BYTES) -> None:
        self.limit = entries
        self.byte_limit = nbytes
        self._by_sub: dict[str, dict[tuple[Any, ...], Any]] = {}
        self.entries = 0
        self.bytes = 0

    def get(self, sub: str, key: tuple[Any, ...]) -> Any:
        found = self._by_sub.get(sub)
        return None if found is None else found.get(key)

    def put(self, sub: str, key: tuple[Any, ...], value: Any) -> None:
        if self.entries >= self.limit or self.bytes >= self.byte_limit:
            self._evict()
        answers = self._by_sub.setdefault(sub, {})
        if key not in answers:
            self.entries += 1
            self.bytes += self.size(key)
        answers[key] = value

    def size(self, key: tuple[Any, ...]) -> int:
        last = key[-1]
        return self.ENTRY_BYTES + (sys.getsizeof(last) if isinstance(last, str) else 0)

    def drop(self, subs: Iterable[str]) -> int:
        """Forget the answers of these subjects; return how many."""
        dropped = 0
        for sub in subs:
            answers = self._by_sub.pop(sub, None)
            if answers:
                dropped += len(answers)
                self.entries -= len(answers)
                self.bytes -= sum(self.size(key) for key in answers)
        return dropped

    def subjects(self) -> list[str]:
        """Every subject with answers."""
        return list(self._by_sub)

    def _evict(self) -> None:
        """Forget the subjects asked about first until a quarter of the room is free."""
        while self._by_sub and (
            self.entries > self.limit * 3 // 4 or self.bytes > self.byte_limit * 3 // 4
        ):
            self.drop([next(iter(self._by_sub))])

    def keys_of(self, subs: set[str], most: int) -> list[tuple[str, tuple[Any, ...]]]:
        """Up to `most` keys of these subjects, those asked about last first."""
        found: list[tuple[str, tuple[Any, ...]]] = []
        for sub in reversed(self._by_sub):
            if sub in subs:
                answers = self._by_sub[sub]
                found.extend((sub, key) for key in islice(reversed(answers), most - len(found)))
                if len(found) >= most:
                    break
        return found

    def newest(self, most: int) -> list[tuple[str, tuple[Any, ...]]]:
        """Up to `most` keys, of the subjects asked about last."""
        found: list[tuple[str, tuple[Any, ...]]] = []
        for sub in reversed(self._by_sub):
            found.extend((sub, key) for key in islice(reversed(self._by_sub[sub]), most))
            if len(found) >= most:
                break
        return found[:most]

    def items(self) -> Iterator[tuple[str, tuple[Any, ...], Any]]:
        for sub, answers in self._by_sub.items():
            for key, value in answers.items():
                yield sub, key, value

    def __len__(self) -> int:
        return self.entries
