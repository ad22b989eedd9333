"""Raw files follow the data: a source file that fails its parse or a quality gate leaves ``data/raw``.

``raw/<dataset>/<release>/`` holds the files a warehouse can be built from. When a refresh replaces one of
them, the fetch keeps the replaced copy, with the manifest that lists it, in ``raw/<dataset>/<release>/
.previous/`` (:func:`codeetl.sources.fetch.keep_previous`) until a warehouse built from the new one is
published (:func:`confirm`). If the new file fails its parse or a quality gate, :func:`quarantine_release`

* moves the new files to ``quarantine/<dataset>/<release>/<time>-<sha256>/`` under the data folder (with
  the manifest that listed them and ``why.txt``, the error), for a person to look at;
* puts the previous files and manifest back (the last good source; none for a release never fetched
  before, whose manifest then goes), and the release's previous parse (``parsed/PREVIOUS``);

so the next refresh downloads the file again (the source may have fixed it) instead of parsing the bad
copy again, and a refresh of other datasets builds with the last good one. The same bad file quarantined
twice is kept once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
from pathlib import Path

PREVIOUS = ".previous"  # in raw/<dataset>/<release>/: the files a new fetch replaced, until confirmed
MANIFEST = "manifest.json"
QUARANTINE = "quarantine"  # under the data folder


def _listed(rdir: Path, manifest: Path) -> dict[str, str]:
    """relative path -> sha256 of every file a manifest lists (downloads and extracted members)."""
    try:
        downloads = json.loads(manifest.read_text(encoding="utf-8"))["downloads"]
    except (OSError, ValueError, KeyError):
        return {}
    base = rdir.resolve()
    out = {}
    for d in downloads:
        for obj in (d, *d.get("members", [])):
            p = Path(obj["path"]).resolve()
            if base in p.parents:
                out[str(p.relative_to(base))] = obj["sha256"]
    return out


def quarantine_release(root: str | Path, dataset: str, release: str, why: str, parsed: bool = False) -> Path | None:
    """Move the release's files that differ from its last good ones (all of them when it has none) to a new
    quarantine folder, and put the last good files and manifest back; `parsed` (the files parsed, a gate
    failed): the last good parse too, or none. Returns the quarantine folder (an existing one when the same
    files were quarantined before), or None when nothing was new."""
    root = Path(root)
    rdir = root / "raw" / dataset / release
    prev = rdir / PREVIOUS
    new, good = _listed(rdir, rdir / MANIFEST), _listed(rdir, prev / MANIFEST)
    bad = {rel: sha for rel, sha in new.items() if good.get(rel) != sha and (rdir / rel).is_file()}
    folder = None
    if bad:
        tag = min(bad.values())[:12]
        qroot = root / QUARANTINE / dataset / release
        folder = next((d for d in sorted(qroot.glob(f"*-{tag}")) if d.is_dir()), None)
        if folder is None:
            folder = qroot / f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{tag}"
            for rel in bad:
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(rdir / rel, folder / rel)
            shutil.copy2(rdir / MANIFEST, folder / MANIFEST)
            (folder / "why.txt").write_text(why + "\n", encoding="utf-8")
        else:
            for rel in bad:
                (rdir / rel).unlink(missing_ok=True)
    _restore(rdir, prev)
    if parsed:
        _restore_parse(rdir / "parsed")
    for d in sorted((p for p in rdir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)) + [rdir]:
        with contextlib.suppress(OSError):
            d.rmdir()  # folders the quarantined files leave empty (a release never fetched before: all)
    return folder


def _restore(rdir: Path, prev: Path) -> None:
    """The files and manifest kept in `prev` back in `rdir`; without them, no manifest (nothing is good)."""
    if not (prev / MANIFEST).is_file():
        (rdir / MANIFEST).unlink(missing_ok=True)
    for p in sorted(prev.rglob("*")) if prev.is_dir() else []:
        if p.is_file():
            dest = rdir / p.relative_to(prev)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(p, dest)
    shutil.rmtree(prev, ignore_errors=True)


def _restore_parse(parsed: Path) -> None:
    """CURRENT back to the parse PREVIOUS names, the bad parse deleted; without a previous parse, no
    CURRENT (the release is built again once a good file is fetched)."""
    previous, current = parsed / "PREVIOUS", parsed / "CURRENT"
    key = previous.read_text(encoding="utf-8").strip() if previous.is_file() else None
    bad = current.read_text(encoding="utf-8").strip() if current.is_file() else None
    if key and (parsed / key).is_dir():
        tmp = parsed / "CURRENT.part"
        tmp.write_text(key, encoding="utf-8")
        os.replace(tmp, current)
    else:
        current.unlink(missing_ok=True)
    if bad and bad != key:
        shutil.rmtree(parsed / bad, ignore_errors=True)
    previous.unlink(missing_ok=True)


def confirm(root: str | Path, parses: dict[str, str]) -> None:
    """The releases of a published build (``dataset/release`` -> parse key) are good: their kept previous
    files and previous parse are no longer needed and go."""
    for name, key in parses.items():
        rdir = Path(root) / "raw" / name
        parsed = rdir / "parsed"
        current = parsed / "CURRENT"
        if not current.is_file() or current.read_text(encoding="utf-8").strip() != key:
            continue
        shutil.rmtree(rdir / PREVIOUS, ignore_errors=True)
        previous = parsed / "PREVIOUS"
        if previous.is_file():
            old = previous.read_text(encoding="utf-8").strip()
            if old != key:
                shutil.rmtree(parsed / old, ignore_errors=True)
            previous.unlink()
