"""Stable stand-ins for the random parts of provider-computed ids and names."""

from __future__ import annotations

import hashlib


def stable_hex(*parts: str, length: int = 7) -> str:
    """``length`` hex digits derived from ``parts``: random-looking, but the same on every run."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:length]
