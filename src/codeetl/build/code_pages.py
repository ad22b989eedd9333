"""The ``code_page`` export: the page of every code node of every loaded ICD-10-CM release, each release for its
first day, as ``parquet/code_page/icd10cm_release=<id>/code_page.parquet`` sorted by code.

A page is the ``code_page`` SQL macro (``sql/pages/20_code_page.sql``): a frame (code, hierarchy and the code's
note chain), the notes of each distinct chain, the sections of the other datasets' releases its day picks
(GEMs, MS-DRG, PFS) and the code's history, put together. For a whole release the build computes each of these
parts once (one query each, every code node at once: no chunks) into a parquet file sorted by code, and puts
them together side by side (no query holds a release's wide rows in a hash table: each stays well inside the
build's DuckDB memory limit) (``sql/export/code_page.sql``). Each part is kept in the warehouse's cache by what
it is made of (:func:`part_keys`), and so is each release's page file:

- ``frame`` (with the chain notes): the ICD-10-CM releases up to the release (its own files; a release derived
  from an earlier one);
- ``day`` (the ``icd9``, ``ms_drg`` and ``procedures`` sections, a file each): that, and the GEM, MS-DRG and PFS
  releases the release's first day picks, with what their sections read (ICD-9-CM, IPPS rules, MCD, the curated
  links);
- ``history``: the ICD-10-CM releases up to the release, like ``frame``: a page's history is the history as of
  its release (``cp_history``), so a release added later changes no page of an older one.

Adding the newest ICD-10-CM release computes that release's parts and page file only: every other release's
page file is reused (hard-linked) unchanged; adding a PFS quarter recomputes the ``day`` part of the releases
whose first day picks it, and puts only those together again. A part is written under a temporary name (``<key>.part``) and renamed into place when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import duckdb

from codeetl.build.build_cache import digest as _digest, keep, link_or_copy as _link_or_copy, prune
from codeetl.build.changes import dated_parses
from codeetl.build.named_sql import named_statements, sql_literal as _sql_literal

ROW_GROUP = 2048
"""Rows per parquet row group of the code_page export: small, so a reader filtering on ``code`` (the file is
sorted by it) skips every other group by its min/max statistics."""

PARQUET = f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP})"
PAGES = "cache/code_page"
"""Under the warehouse folder: page files by key, hard-linked into the builds that use them."""
PARTS = "cache/code_page_parts"
"""Under the warehouse folder: the parts of the pages (a folder of parquet files per key)."""
PART_FILES = {"frame": ("frame", "chain_notes"), "day": ("icd9", "ms_drg", "procedures"), "history": ("history",)}
KEEP_SIDES = {"frame"}
"""Part files that come out in code order unsorted (the nodes sorted, then streamed past the hash tables): made with
the join sides kept (:func:`_sides_kept`)."""
RESOLVED_BY_DAY = ("gems", "msdrg", "pfs")
"""Datasets of which a code page uses only the release ``page_releases`` picks for its day."""


def part_keys(con: duckdb.DuckDBPyConnection, rid: str, inputs: dict) -> dict[str, str]:
    """The key of each part of the pages of ICD-10-CM release `rid` (``frame``, ``day``, ``history``) and of its
    page file (``page``), from the build's `inputs` (:func:`codeetl.build.changes.build_inputs`): the build code,
    the DuckDB version and the parses (and curated links) each part reads, each parse with its release's catalog
    dates (see the module's docstring)."""
    parses = dated_parses(inputs)  # a part reads each release's dates too
    upto = {r for (r,) in con.execute(
        "SELECT release FROM release_calendar WHERE dataset = 'icd10cm' AND effective_from <= "
        "(SELECT min(effective_from) FROM release_calendar WHERE dataset = 'icd10cm' AND release = ?)", [rid]).fetchall()}
    icd = {k: v for k, v in parses.items() if k.startswith("icd10cm/") and k.split("/", 1)[1] in upto}
    base = {"release": rid, "code": inputs["code"], "duckdb": inputs["duckdb"]}
    frame = _digest({**base, "part": "frame", "icd10cm": icd})
    picked = json.loads(con.execute("SELECT to_json(p) FROM page_releases(?, NULL::DATE) p", [rid]).fetchone()[0])
    chosen = {f"{ds}/{picked[ds]['release']}" for ds in RESOLVED_BY_DAY if picked.get(ds)}
    version = (picked.get("msdrg") or {}).get("release")
    unused_rules = {f"{d}/{r}" for d, r, u in con.execute(
        "SELECT dataset, release, uses_release FROM release_uses WHERE uses_dataset = 'msdrg'").fetchall() if u != version}
    others = {k: v for k, v in parses.items() if not k.startswith("icd10cm/") and k not in unused_rules
              and (k.split("/", 1)[0] not in RESOLVED_BY_DAY or k in chosen)}
    has_pfs = con.execute("SELECT count(*) > 0 FROM release_calendar WHERE dataset = 'pfs'").fetchone()[0]
    day = _digest({**base, "part": "day", "icd10cm": icd, "picked": picked, "parses": others, "links": inputs["links"],
                   "has_pfs": has_pfs})
    history = _digest({**base, "part": "history", "icd10cm": icd})  # as of the release: the releases up to it
    return {"frame": frame, "day": day, "history": history, "page": _digest([frame, day, history])}


class _Cache:
    """The export's cache under a warehouse folder (None: no cache, parts made in a scratch folder)."""

    def __init__(self, warehouse: Path | None, scratch: Path) -> None:
        self.pages = warehouse / PAGES if warehouse else None
        self.parts = warehouse / PARTS if warehouse else None
        self.scratch = scratch
        self.used: set[Path] = set()

    def page(self, key: str) -> Path | None:
        """Where the page file `key` is kept (None without a cache); marks it used."""
        if self.pages is None:
            return None
        self.used.add(self.pages / f"{key}.parquet")
        return self.pages / f"{key}.parquet"

    def part(self, con: duckdb.DuckDBPyConnection, kind: str, key: str, rid: str) -> Path:
        """The folder of part `kind` `key` of release `rid`: the cached one, or made now (and kept)."""
        final = (self.parts or self.scratch) / key
        self.used.add(final)
        if (final / "COMPLETE").is_file():
            return final
        tmp = final.with_name(key + ".part")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        sql = named_statements("export/code_page.sql")
        for name in PART_FILES[kind]:
            try:
                with _sides_kept(con) if name in KEEP_SIDES else contextlib.nullcontext():
                    con.execute(f"COPY ({sql[name]}) TO {_sql_literal(tmp / (name + '.parquet'))} {PARQUET}", [rid])
            except duckdb.Error as e:  # which query of the export failed (the build's error says the rest)
                raise duckdb.Error(f"the {name} part of the code pages of ICD-10-CM {rid}: {e}") from None
        (tmp / "COMPLETE").write_text(rid, encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return final

    def prune(self) -> None:
        """Delete the parts this build did not use, and the page files no build links any more."""
        for folder in (self.parts, self.scratch if self.parts is None else None):
            for p in folder.iterdir() if folder is not None and folder.is_dir() else []:
                if p not in self.used and p.is_dir() and not p.name.endswith(".part"):
                    shutil.rmtree(p, ignore_errors=True)
        if self.parts is None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        for f in self.pages.glob("*.parquet") if self.pages is not None and self.pages.is_dir() else []:
            if f not in self.used and f.stat().st_nlink == 1:
                f.unlink(missing_ok=True)


@contextlib.contextmanager
def _sides_kept(con: duckdb.DuckDBPyConnection):
    """Within the block, DuckDB keeps each join's sides as the query writes them (its build_side_probe_side
    optimizer off): the stream in code order stays the probe side, so the rows come out in its order."""
    before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    con.execute("SET disabled_optimizers = 'build_side_probe_side'")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = '{before}'")


def assemble(con: duckdb.DuckDBPyConnection, folders: dict[str, Path], target: Path) -> None:
    """Put the parts in `folders` (kind -> folder) together into the parquet file `target`, checking that the
    parts line up and that the file comes out sorted by code (a duckdb.Error otherwise)."""
    sql = named_statements("export/code_page.sql")
    files = {name: _sql_literal(folders[kind] / f"{name}.parquet") for kind, names in PART_FILES.items() for name in names}
    misaligned = con.execute(sql["aligned"].format(**files)).fetchone()[0]
    if misaligned:
        raise duckdb.Error(f"the code page parts of {target.parent.name} do not line up ({misaligned} rows)")
    with _sides_kept(con):  # the chain notes are the hash table, the parts stream through it in code order
        con.execute(f"COPY ({sql['assemble'].format(**files)}) TO {_sql_literal(target)} {PARQUET}")
    back = con.execute(sql["out_of_order"].format(target=_sql_literal(target))).fetchone()[0]
    if back:
        raise duckdb.Error(f"the code pages of {target.parent.name} came out of code order ({back} rows)")


def export_code_pages(con: duckdb.DuckDBPyConnection, out: Path, notify: Callable[[str], None] | None = None,
                      warehouse: Path | None = None, inputs: dict | None = None) -> dict[str, str]:
    """The code pages of every loaded ICD-10-CM release into ``<out>/icd10cm_release=<id>/code_page.parquet``;
    with the `warehouse` folder and the build's `inputs`, every part and page file whose key is in its cache is
    reused (a page file is hard-linked), and what is made is kept there. `notify` gets one line per release.
    Returns the key of each release's page file (release -> key; empty without `inputs`): what the files made
    from a page file (the page store) are kept by."""
    say = notify or (lambda message: None)
    cache = _Cache(warehouse if inputs else None, out / ".parts")
    releases = [r for (r,) in con.execute(
        "SELECT release FROM release_calendar WHERE dataset = 'icd10cm' ORDER BY effective_from, release").fetchall()]
    made: dict[str, str] = {}
    for i, rid in enumerate(releases, 1):
        folder = out / f"icd10cm_release={rid}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "code_page.parquet"
        keys = part_keys(con, rid, inputs) if inputs else {k: f"{rid}.{k}" for k in ("frame", "day", "history", "page")}
        if inputs:
            made[rid] = keys["page"]
        cached = cache.page(keys["page"])
        if cached is not None and cached.is_file():
            _link_or_copy(cached, target)
            say(f"build: code pages of ICD-10-CM {rid} ({i} of {len(releases)}): unchanged, reused")
            continue
        say(f"build: code pages of ICD-10-CM {rid} ({i} of {len(releases)})")
        folders = {kind: cache.part(con, kind, keys[kind], rid) for kind in PART_FILES}
        tmp = folder / ".code_page.parquet.part"
        assemble(con, folders, tmp)
        os.replace(tmp, target)
        if cached is not None:
            keep(target, cached)
    cache.prune()
    return made

