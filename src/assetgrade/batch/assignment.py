"""Stable shard assignment: asset ids cut into the leaves of a binary trie over the sha256 of each id.

Every asset id gets a place that depends on the id alone: its **id hash**, the first 8 bytes of
``sha256(asset id as UTF-8)`` read as a big-endian unsigned 64-bit integer. The ids sorted by id hash
form the root of a binary trie; a node holding more than ``capacity`` ids is split into the ids whose
next hash bit (most significant first) is 0 and those whose bit is 1, and so on down, so every leaf
holds at most ``capacity`` ids. The leaves, left to right, are the shards. A leaf is a function of the
ids under its own hash prefix only, so adding an id changes the one shard whose prefix it falls under
(that shard may split in two), and removing one changes its shard (which may merge with its sibling
leaf): every other shard keeps exactly its ids, hence its key and its done marker. Cutting the sorted
ids into fixed counts instead moved every boundary after an inserted id.

This is the bucket structure of extendible hashing (Fagin, Nievergelt, Pippenger and Strong,
"Extendible Hashing - A Fast Access Method for Dynamic Files", ACM TODS 4(3), 1979), here derived from
the current ids rather than from the order they arrived in, so two plans of the same ids are the same.
A leaf of such a trie is on average about ln 2 = 69 % full (Flajolet, "On the performance evaluation of
extendible hashing and trie searching", Acta Informatica 20, 1983): shards hold between about a quarter
of ``capacity`` and ``capacity`` ids, most of them between a half and all of it.

In the unlikely case that more than ``capacity`` ids share one whole 64-bit id hash, that leaf is cut
into runs of ``capacity`` in id order (deterministic; it needs colliding ids, about
N^2 / 2^65 for N ids and ``capacity`` 1).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable

__all__ = ["HASH_BITS", "SHARD_SCHEME", "cut_shards", "id_hash"]

SHARD_SCHEME = "id-hash-trie/1"
"""The shard assignment's name and version; hashed into every shard key and stored in every done marker.

Markers written before it existed (fixed counts of sorted ids) carry keys hashed without it, so none of
them equals a key of this scheme and none makes a run skip a shard of this one."""
HASH_BITS = 64


def id_hash(asset_id: str) -> int:
    """The id hash: the first 8 bytes of sha256 of the UTF-8 id, as a big-endian unsigned integer.

    >>> id_hash("asset-000")
    7608886557694704029
    """
    return int.from_bytes(hashlib.sha256(asset_id.encode()).digest()[:8], "big")


def cut_shards(asset_ids: Iterable[str], capacity: int) -> list[tuple[str, ...]]:
    """The asset ids (each once) cut into hash-trie leaves of at most ``capacity`` ids, each in id order.

    Leaves come in id-hash order; an id's leaf depends only on the ids sharing its hash prefix.

    >>> ids = [f"a{i}" for i in range(10)]
    >>> before, after = cut_shards(ids, 4), cut_shards(ids + ["a10"], 4)
    >>> before
    [('a2', 'a7', 'a9'), ('a0', 'a4', 'a5', 'a6'), ('a1', 'a3', 'a8')]
    >>> [s for s in after if s not in before]     # a10 joined one shard; the others are unchanged
    [('a1', 'a10', 'a3', 'a8')]
    """
    if capacity < 1:
        raise ValueError(f"capacity={capacity} must be >= 1")
    keyed = sorted((id_hash(a), a) for a in set(asset_ids))
    hashes = [h for h, _ in keyed]
    out: list[tuple[str, ...]] = []
    todo = [(0, len(keyed), 0, 0)] if keyed else []  # (first index, end index, depth, hash prefix of that depth)
    while todo:
        lo, hi, depth, prefix = todo.pop()
        if hi - lo <= capacity:
            out.append(tuple(sorted(a for _, a in keyed[lo:hi])))
        elif depth == HASH_BITS:  # more than capacity ids share one whole id hash
            ids = sorted(a for _, a in keyed[lo:hi])
            out += [tuple(ids[i:i + capacity]) for i in range(0, len(ids), capacity)]
        else:
            mid = bisect_left(hashes, (2 * prefix + 1) << (HASH_BITS - depth - 1), lo, hi)
            for a, b, p in ((mid, hi, 2 * prefix + 1), (lo, mid, 2 * prefix)):  # left child popped first
                if b > a:
                    todo.append((a, b, depth + 1, p))
    return out
