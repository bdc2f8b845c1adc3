"""Near-duplicate index of story texts: a MinHash sketch and the LSH band keys storage
looks stories up by.

The sketch is a *one-permutation* MinHash: every word 4-shingle is hashed once (blake2b,
64 bits), the hash picks one of ``SKETCH_SIZE`` bins, and each bin keeps its smallest
value; empty bins borrow the value of the next filled bin to their right, shifted by the
distance (densification by rotation), so every position of two sketches is comparable.
The fraction of equal positions estimates the Jaccard similarity of the shingle sets.

For lookup the sketch is cut into ``BANDS`` bands of ``BAND_ROWS`` consecutive positions,
and each band is hashed to one key. Two texts share a band with probability ≈ J^2, so a
syndicated copy (J ≥ 0.5, usually ≥ 0.8) shares at least one of 24 keys with probability
≥ 0.999, while texts that share only boilerplate (J ≈ 0.1) rarely do. Storage reads a
bounded number of stories per key (``storage.queries.similar_stories``), so a lookup
costs the same however many stories a common key is shared by.

This module is pure and lives in ``storage`` because the stored keys depend on it: the
migration that builds ``story_bands`` from existing rows uses the very same functions.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence

SKETCH_SIZE = 48  # bins (positions) of a sketch
BAND_ROWS = 2  # positions per band: higher cuts false candidates, lower raises recall
BANDS = SKETCH_SIZE // BAND_ROWS
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
    hashes = sorted(
        (
            int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
            for shingle in shingles
        ),
        reverse=True,
    )
    # The bin comes from the high bits; smaller hashes come later and overwrite, so each
    # bin keeps its minimum (shifted right one bit to fit a signed 64-bit value).
    filled = {(h * SKETCH_SIZE) >> 64: h >> 1 for h in hashes}
    bins = [filled.get(b) for b in range(SKETCH_SIZE)]
    return _densify(bins)


def _densify(bins: Sequence[int | None]) -> tuple[int, ...]:
    """Fill each empty bin from the nearest filled bin to its right (circularly)."""
    size = len(bins)
    filled = [b for b in bins if b is not None]
    if len(filled) == size:
        return tuple(filled)
    out: list[int] = []
    for i in range(size):
        for distance in range(size):
            donor = bins[(i + distance) % size]
            if donor is not None:
                out.append((donor + distance * _ROTATION) & _MASK63)
                break
    return tuple(out)


def sketch_bands(sketch: Sequence[int]) -> list[int]:
    """One key per band of ``BAND_ROWS`` positions (the band's index is part of the key)."""
    keys = []
    for band in range(len(sketch) // BAND_ROWS):
        start = band * BAND_ROWS
        raw = struct.pack(f"<H{BAND_ROWS}q", band, *sketch[start : start + BAND_ROWS])
        digest = hashlib.blake2b(raw, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big") & _MASK63)
    return keys


def sketch_similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity: the fraction of positions where the sketches agree."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def pack_sketch(sketch: Sequence[int]) -> bytes | None:
    """The sketch as stored in ``stories.sketch`` (None for a text without one)."""
    return _PACK.pack(*sketch) if len(sketch) == SKETCH_SIZE else None


def unpack_sketch(data: bytes | None) -> tuple[int, ...]:
    return _PACK.unpack(data) if data and len(data) == _PACK.size else ()
