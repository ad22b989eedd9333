"""Hashes and timestamps that record where data came from: the one place they are computed."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Iterable

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(pairs: Iterable[tuple[str, str]]) -> str:
    """The hex SHA-256 of ``role=sha256`` lines sorted by role: equal inputs give equal fingerprints, in any
    order. Used for parse keys and for a download assembled from several mirror files."""
    h = hashlib.sha256()
    for role, digest in sorted(pairs):
        h.update(f"{role}={digest}\n".encode())
    return h.hexdigest()


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds (``2026-11-30T05:46:13+00:00``)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
