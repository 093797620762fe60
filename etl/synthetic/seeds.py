"""Seeds derived from names, so synthetic output is the same on every machine and run.

Python's `hash()` is salted per process; a SHA-256 of the parts is not.
"""
from __future__ import annotations

import hashlib

import numpy as np


def rng_for(*parts: object) -> np.random.Generator:
    """A numpy generator seeded from e.g. ('istv', 'E22000001', '2023-04')."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))
