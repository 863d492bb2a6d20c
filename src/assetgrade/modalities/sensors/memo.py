"""A memo of the sensors extractor's fold-independent work, shared by the extractors of one training run.

The Grader fits a sensors extractor on all labelled assets and one per out-of-fold split, and
each of them loads and checks every series it sees, computes its spectral bands and the fleet
RUL model's input row. None of that depends on which assets a fit learned from (given the same
channel list, checks, spectral settings and the same RUL model), only the regime normaliser and
what follows it do. A :class:`SeriesMemo` handed to each extractor with
:meth:`~assetgrade.modalities.sensors.extractor.SensorExtractor.use_memo` keeps those results,
keyed by the series' evidence id and content hash plus every setting they depend on, so the
work runs once per series per training run instead of once per fit. The values are the ones the
extractor would compute; the memo changes no figure.

A memo holds references to series frames: it is meant for the length of one training run (the
Grader drops it before saving), and it keeps at most ``max_bytes`` of frames (least recently
used dropped first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import pandas as pd

__all__ = ["SeriesMemo"]

T = TypeVar("T")


def _size(value: Any) -> int:
    """Bytes a memo entry holds (the frames in it; everything else counted as a small constant)."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=False).sum())
    if isinstance(value, tuple | list):
        return sum(_size(v) for v in value) + 64
    return 64


class SeriesMemo:
    """A bounded least-recently-used map from a key to a computed value (or the error computing it raised).

    >>> memo, calls = SeriesMemo(), []
    >>> memo.get(("e1", "sha"), lambda: calls.append(1) or 42), memo.get(("e1", "sha"), lambda: 0)
    (42, 42)
    >>> len(calls), memo.hits, memo.misses
    (1, 1, 1)
    """

    def __init__(self, max_bytes: int = 500_000_000) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, tuple[bool, Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, compute: Callable[[], T], *, remember: tuple[type[BaseException], ...] = ()) -> T:
        """The value stored under ``key``, else ``compute()`` stored and returned.

        An exception of a type in ``remember`` is stored too and raised again on every later
        ``get`` of the key (a bad series stays bad); any other exception passes through unstored.
        """
        hit = self._items.get(key)
        if hit is not None:
            self.hits += 1
            self._items.move_to_end(key)
            ok, value, _ = hit
            if not ok:
                raise value.with_traceback(None)
            return value  # type: ignore[no-any-return]
        self.misses += 1
        try:
            value = compute()
        except remember as exc:
            self._put(key, False, exc)
            raise
        self._put(key, True, value)
        return value

    def _put(self, key: Hashable, ok: bool, value: Any) -> None:
        size = _size(value) if ok else 64
        if size > self.max_bytes:
            return
        self._items[key] = (ok, value, size)
        self.nbytes += size
        while self.nbytes > self.max_bytes and self._items:
            _, (_, _, dropped) = self._items.popitem(last=False)
            self.nbytes -= dropped

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()
        self.nbytes = 0
