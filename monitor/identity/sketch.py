"""Near-duplicate index of story texts: a MinHash sketch and the LSH band keys storage
looks stories up by.

The sketch is a *one-permutation* MinHash: every word 4-shingle is hashed once (blake2b,
64 bits), the hash picks one of ``SKETCH_SIZE`` bins, and each bin keeps its smallest
value; empty bins borrow the value of the next filled bin to their right, shifted by the
distance (densification by rotation), so every position of two sketches is comparable.
The fraction of equal positions estimates the Jaccard similarity of the shingle sets.

For lookup the first ``BANDS`` × ``BAND_ROWS`` positions are cut into ``BANDS`` bands of
``BAND_ROWS`` consecutive positions, and each band is hashed to one key. Two texts share a
band with probability ≈ J^2, so a syndicated copy (J ≥ 0.5, usually ≥ 0.8) shares at least
one of 12 keys with probability ≥ 1 - 0.75^12 ≈ 0.97 (≥ 0.99999 at J = 0.8), and ≈ 0.994
when its 48-position estimate reaches 0.5, the copies that would be joined; texts that
share only boilerplate (J ≈ 0.1) share a key with probability ≈ 0.11. The other 24
positions only sharpen the estimate: each key is a row in ``story_bands`` to insert, look
up and rank, and cutting all 48 positions into 24 keys found only 0.02-0.06 % more copies,
all near the threshold (bench/band_recall.py, docs/performance.md). Storage reads a bounded
number of stories per key (``storage.queries.similar_stories``), so a lookup costs the
same however many stories a common key is shared by.

This module is pure and lives in ``storage`` because the stored keys depend on it: the
migration that builds ``story_bands`` from existing rows uses the very same functions.
"""

from __future__ import annotations

import hashlib
import re
import struct
from bisect import bisect_left
from collections.abc import Sequence
from itertools import pairwise
from operator import eq

SKETCH_SIZE = 48  # bins (positions) of a sketch
BAND_ROWS = 2  # positions per band: higher cuts false candidates, lower raises recall
BANDS = 12  # keys per story, from the first BANDS × BAND_ROWS positions
SHINGLE = 4  # words per shingle
MIN_SKETCH_WORDS = 30  # shorter texts are matched by their exact text hash only
_WORD = re.compile(r"\w+", re.UNICODE)
_MASK63 = (1 << 63) - 1  # values fit a signed 64-bit column
_ROTATION = 0x9E3779B97F4A7C15  # odd constant: a value borrowed d bins away is shifted by d·C
_PACK = struct.Struct(f"<{SKETCH_SIZE}q")


def text_sketch(text: str) -> tuple[int, ...]:
    """The ``SKETCH_SIZE`` MinHash values of the text's word shingles; () for short texts."""
    words = _WORD.findall(text.casefold())
    if len(words) < MIN_SKETCH_WORDS:
        return ()
    shingles = map(" ".join, zip(*(words[i:] for i in range(SHINGLE)), strict=False))
    # The 64-bit digests, read as big-endian integers by one unpack (not one call each).
    raw = b"".join([_blake2b(shingle.encode(), digest_size=8).digest() for shingle in shingles])
    hashes = sorted(struct.unpack(f">{len(raw) // 8}Q", raw))
    # The bin is the high bits, (h · SKETCH_SIZE) >> 64: bins follow the sorted hashes, so
    # a bin's minimum is the first hash at or above its lower bound (shifted right one bit
    # to fit a signed 64-bit value).
    bins: list[int | None] = []
    for low, high in pairwise(_BIN_BOUNDS):
        i = bisect_left(hashes, low)
        bins.append(hashes[i] >> 1 if i < len(hashes) and hashes[i] < high else None)
    return _densify(bins)


_blake2b = hashlib.blake2b
# The smallest 64-bit value of each bin, and 2^64 closing the last one.
_BIN_BOUNDS = [-(-(b << 64) // SKETCH_SIZE) for b in range(SKETCH_SIZE + 1)]


def _densify(bins: Sequence[int | None]) -> tuple[int, ...]:
    """Fill each empty bin from the nearest filled bin to its right (circularly)."""
    size = len(bins)
    if None not in bins:
        return tuple(bins)  # type: ignore[arg-type]
    out: list[int] = [0] * size
    # One pass right to left, twice around, remembering the nearest filled bin so far:
    # the first round finds the donors of bins to the left of the last filled one.
    donor: int | None = None
    distance = 0
    for i in range(2 * size - 1, -1, -1):
        value = bins[i % size]
        if value is not None:
            donor, distance = value, 0
        elif donor is not None:
            distance += 1
        if i < size:
            out[i] = (donor + distance * _ROTATION) & _MASK63 if donor is not None else 0
    if donor is None:  # no filled bin at all (cannot happen for a text with shingles)
        return ()
    return tuple(out)


def sketch_bands(sketch: Sequence[int]) -> list[int]:
    """One key per band of ``BAND_ROWS`` positions (the band's index is part of the key);
    [] for a text without a sketch."""
    if len(sketch) != SKETCH_SIZE:
        return []
    pack = _BAND.pack
    return [
        int.from_bytes(
            _blake2b(
                pack(band, *sketch[band * BAND_ROWS : (band + 1) * BAND_ROWS]), digest_size=8
            ).digest(),
            "big",
        )
        & _MASK63
        for band in range(BANDS)
    ]


_BAND = struct.Struct(f"<H{BAND_ROWS}q")


def sketch_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity: the fraction of positions where the sketches agree."""
    if not a or len(a) != len(b):
        return 0.0
    return int(sum(map(eq, a, b))) / len(a)  # equal positions, counted in C


def pack_sketch(sketch: Sequence[int]) -> bytes | None:
    """The sketch as stored in ``stories.sketch`` (None for a text without one)."""
    return _PACK.pack(*sketch) if len(sketch) == SKETCH_SIZE else None


def unpack_sketch(data: bytes | None) -> tuple[int, ...]:
    return _PACK.unpack(data) if data and len(data) == _PACK.size else ()
