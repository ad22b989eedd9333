"""The warehouse folder's cache of build outputs kept by key (``cache/<kind>/<key>.<ext>``): the code page files,
the page stores, the table exports. A build hard-links a kept file into its folder instead of writing it again;
a file no build links any more is deleted."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path


def digest(value) -> str:
    """A short key (32 hex digits of SHA-256) of `value`'s canonical JSON."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:32]


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link `src` to `dst` (a copy where links are not possible); returns None."""
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def keep(made: Path, kept: Path) -> None:
    """Keep the file `made` in the cache as `kept` (a hard link under a temporary name, renamed into place);
    returns None."""
    kept.parent.mkdir(parents=True, exist_ok=True)
    part = kept.with_name(kept.name + ".part")
    link_or_copy(made, part)
    os.replace(part, kept)


def prune(folder: Path | None, pattern: str, used: set[Path]) -> None:
    """Delete the files of `folder` matching `pattern` that this build did not use and no build links any more
    (one link: the cache's own); returns None."""
    for f in folder.glob(pattern) if folder is not None and folder.is_dir() else []:
        if f not in used and f.stat().st_nlink == 1:
            f.unlink(missing_ok=True)
