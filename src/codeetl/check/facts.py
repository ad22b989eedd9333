"""What the warehouse says, as `codeetl check` needs it: the one place that imports the code page
(:mod:`codeetl.pages`) and reads warehouse tables, so a move of those modules is rewired here only.

Every method returns official values from the warehouse (never typed in); each result that a verdict
cites comes with its source (dataset, release, file). SQL is in ``src/codeetl/sql/check/facts.sql``.
Tables that a warehouse may not have yet (``icd9cm_codes``, ``icd10cm_code_history``,
``icd10cm_replacements``) raise :class:`MissingData`, which a verdict reports as "not checkable".
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import duckdb

from codeetl.check.words import content_words, within
from codeetl.errors import CodeEtlError
from codeetl.pages.code import code_page, code_page_rows
from codeetl.pages.common import CodeNotFound, MalformedCode, NoReleaseInEffect
from codeetl.pages.drg import _ipps_used
from codeetl.pages.resolver import resolve
from codeetl.build.warehouse_sql import sql_text

__all__ = ["Facts", "MissingData", "CodeNotFound", "MalformedCode", "NoReleaseInEffect", "CodeEtlError"]


class MissingData(CodeEtlError):
    """The warehouse lacks a table or release a claim needs (the message says which)."""


@lru_cache(maxsize=1)
def queries() -> dict[str, str]:
    """The named queries of ``sql/check/facts.sql``: {name: SQL}."""
    out: dict[str, list[str]] = {}
    name = None
    for line in sql_text("check/facts.sql").splitlines():
        m = re.match(r"--\s*name:\s*(\w+)", line)
        if m:
            name = m.group(1)
            out[name] = []
        elif name and not line.startswith("--"):
            out[name].append(line)
    return {k: "\n".join(v).strip() for k, v in out.items()}


class Facts:
    """Cached reads of one warehouse connection (read-only)."""

    SOURCE_ROLES = {"icd10cm": ("tabular", "codes", "order"), "gems": ("i10_to_i9", "i9_to_i10"),
                    "msdrg": ("appendix_b", "appendix_a"), "ipps": ("table5",), "pfs": ("rvu", "rvu_csv")}

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._cache: dict[tuple, Any] = {}
        self.tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() UNION "
                                                 "SELECT view_name FROM duckdb_views()").fetchall()}

    def rows(self, name: str, **params) -> list[dict]:
        """Rows of the named query as dicts."""
        sql = queries()[name]
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        cur = self.con.execute(sql, used)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    def _cached(self, key: tuple, make):
        if key not in self._cache:
            try:
                self._cache[key] = make()
            except CodeEtlError as e:
                self._cache[key] = e
        v = self._cache[key]
        if isinstance(v, CodeEtlError):
            raise v
        return v

    def need(self, table: str, what: str) -> None:
        """MissingData unless the warehouse has `table` (`what` says which data that is)."""
        if table not in self.tables:
            raise MissingData(f"the warehouse has no table {table} ({what})")

    # ------------------------------------------------------------------------------------ releases

    def release(self, dataset: str, as_of: dt.date) -> dict:
        """The release of `dataset` for `as_of` (codeetl.pages.resolver: the one in effect, else the latest
        before it with ``in_effect`` false; NoReleaseInEffect when every loaded one starts later)."""
        return self._cached(("rel", dataset, as_of), lambda: resolve(self.con, dataset, as_of))

    def icd10_release(self, as_of: dt.date, release: str | None = None) -> dict:
        """The ICD-10-CM release of the day (or the one named)."""
        if release:
            rows = self.rows("release_row", dataset="icd10cm", release=release)
            if not rows:
                raise CodeEtlError(f"the warehouse has no ICD-10-CM release {release!r}")
            return rows[0] | {"in_effect": True}
        return self.release("icd10cm", as_of)

    def source(self, dataset: str, release: str, role: str | None = None) -> dict:
        """{'dataset', 'release', 'file'}: the source file of a release (the one with `role`, else the
        first of the dataset's usual roles)."""
        files = self._cached(("src", dataset, release), lambda: self.rows("source_file", dataset=dataset, release=release))
        order = (role,) if role else self.SOURCE_ROLES.get(dataset, ())
        pick = next((f for r in order for f in files if f["role"] == r), files[0] if files else None)
        return {"dataset": dataset, "release": release, "file": pick["file_name"] if pick else None}

    def source_named(self, dataset: str, pattern: str) -> dict:
        """{'dataset', 'release', 'file'} of the loaded source file of `dataset` whose name matches the SQL
        LIKE `pattern` (e.g. '%conversion%'), or with release and file None when none is loaded."""
        row = self.con.execute("SELECT release, file_name FROM source_files WHERE dataset = ? AND file_name ILIKE ? "
                               "ORDER BY release DESC LIMIT 1", [dataset, pattern]).fetchone()
        return {"dataset": dataset, "release": row[0] if row else None, "file": row[1] if row else None}

    # --------------------------------------------------------------------------------- ICD-10-CM

    def page(self, code: str, as_of: dt.date, release: str | None = None) -> dict:
        """The code page of `code` as of `as_of` (or in `release`); CodeNotFound when the code is not in it."""
        kw = {"release": release} if release else {"as_of": as_of}
        return self._cached(("page", code, as_of, release), lambda: code_page(self.con, code, **kw))

    def prefetch_pages(self, codes: list[str], as_of: dt.date, release: str | None = None) -> None:
        """Read the code pages of many codes of one day at once (the SQL code page costs about the same
        for one code as for hundreds) into the cache that :meth:`page` reads."""
        rid = release or self.icd10_release(as_of)["release"]
        for page in code_page_rows(self.con, rid, None if release else as_of, sorted(set(codes))):
            self._cache.setdefault(("page", page["code"], as_of, release), page)

    def prefetch(self, codes: list[str], hcpcs: list[str], as_of: dt.date, release: str | None = None) -> None:
        """Read at once what the claims of many pages of one day will ask about `codes` (ICD-10-CM) and
        `hcpcs`: their rows in the day's release and in every release, inclusion terms, MS-DRG families and
        PFS rows. A query costs about the same for one code as for hundreds."""
        codes, hcpcs = sorted(set(codes)), sorted(set(hcpcs))
        rid = release or self.icd10_release(as_of)["release"]
        found = {r["code"]: r for r in self.rows("code_rows_many", release=rid, codes=codes)}
        terms: dict[str, list[str]] = {}
        for r in self.rows("inclusion_terms_many", release=rid, codes=codes):
            terms.setdefault(r["code"], []).append(r["note"])
        every: dict[str, list[dict]] = {}
        for r in self.rows("code_everywhere_many", codes=codes):
            every.setdefault(r["code"], []).append(r)
        below: dict[str, list[dict]] = {}
        headers = [c for c in codes if c in found and not found[c]["is_billable"]]
        for r in self.rows("billable_below_many", release=rid, codes=headers) if headers else []:
            below.setdefault(r["header"], []).append({"code": r["code"], "description": r["description"]})
        for c in codes:
            self._cache.setdefault(("row", c, rid), [found[c]] if c in found else [])
            self._cache.setdefault(("incl", c, rid), terms.get(c, []))
            self._cache.setdefault(("every_rows", c), every.get(c, []))
            if c in found:
                self._cache.setdefault(("below", c, rid), below.get(c, []))
        if "icd10cm_code_history" in self.tables:
            spans: dict[str, list[dict]] = {}
            for r in self.rows("code_history_many", codes=codes):
                spans.setdefault(r["code"], []).append(r)
            for c in codes:
                self._cache.setdefault(("history", c), spans.get(c, []))
        self._prefetch_drg_pfs(codes, hcpcs, as_of)

    def _prefetch_drg_pfs(self, codes: list[str], hcpcs: list[str], as_of: dt.date) -> None:
        try:
            version = self.msdrg(as_of)["release"]
            fam: dict[str, list[dict]] = {}
            for r in self.rows("drg_family_many", version=version, codes=codes):
                fam.setdefault(r["dx"], []).append(r)
            for c in codes:
                self._cache.setdefault(("fam", c, version), fam.get(c, []))
        except CodeEtlError:
            pass
        by_release: dict[tuple, list[dict]] = {}
        for r in self.rows("pfs_item_many", hcpcs=hcpcs):
            by_release.setdefault((r["hcpcs"], r["release"]), []).append(r)
            by_release.setdefault((r["hcpcs"], None), []).append(r)
        releases = {r for _, r in by_release if r} | {None}
        for h in hcpcs:
            for rel in releases:
                self._cache.setdefault(("pfs", h, rel), by_release.get((h, rel), []))

    def code_row(self, code: str, release: str) -> dict | None:
        """The icd10cm_codes row of `code` in `release`, or None."""
        rows = self._cached(("row", code, release), lambda: self.rows("code_row", code=code, release=release))
        return rows[0] if rows else None

    def code_everywhere(self, code: str) -> list[dict]:
        """One row per loaded ICD-10-CM release (date order: release, label, effective_from, effective_to,
        has_headers) with the code's is_billable and description there (None where it is absent)."""
        def build():
            """The rows, read once per code."""
            rows = self._cached(("every_rows", code), lambda: self.rows("code_everywhere", code=code))
            found = {r["release"]: r for r in rows}
            empty = {"is_billable": None, "description": None}
            return [r | {k: found.get(r["release"], empty)[k] for k in empty} for r in self.icd10_releases()]
        return self._cached(("every", code), build)

    def icd10_releases(self) -> list[dict]:
        """The loaded ICD-10-CM releases in date order, each with has_headers."""
        return self._cached(("icd10rels",), lambda: self.rows("icd10_releases"))

    def siblings(self, code: str, parent: str | None, release: str) -> list[dict]:
        """The other codes under `parent` (code, description, is_billable)."""
        if parent is None:
            return []
        return self._cached(("sibs", code, release), lambda: self.rows("siblings", code=code, parent=parent, release=release))

    def billable_below(self, code: str, release: str) -> list[dict]:
        """The billable codes under a header (at most 12)."""
        return self._cached(("below", code, release),
                            lambda: self.rows("billable_below", code=code, release=release, prefix=code.replace(".", "")))

    def inclusion_terms(self, code: str, release: str) -> list[str]:
        """The inclusion terms printed under `code`."""
        return self._cached(("incl", code, release),
                            lambda: [r["note"] for r in self.rows("inclusion_terms", code=code, release=release)])

    def node_notes(self, code: str, release: str) -> list[dict]:
        """The notes printed under a node (code or category) itself."""
        return self.rows("node_notes", code=code, release=release)

    def description_index(self, release: str) -> tuple[list[tuple[frozenset, str, str]], dict[str, set[int]]]:
        """Every description of `release` with its content words, and which of them hold each word:
        ([(words, code, description)], {word: {positions}})."""
        def build():
            """The index, read once per release."""
            entries: list[tuple[frozenset, str, str]] = []
            by_word: dict[str, set[int]] = {}
            for r in self.rows("all_descriptions", release=release):
                for d in {r["description"], r["description_tabular"]} - {None}:
                    words = content_words(d)
                    for w in words:
                        by_word.setdefault(w, set()).add(len(entries))
                    entries.append((words, r["code"], d))
            return entries, by_word
        return self._cached(("index", release), build)

    INDEX_AFTER = 40  # lookups answered by one query each before the description index is built

    def described_as(self, release: str, words: frozenset, slack: int) -> list[tuple[str, str]]:
        """Codes of `release` whose description has all of `words` and at most `slack` more, closest first.
        The first lookups of a release are single queries; after :data:`INDEX_AFTER` of them (a folder of
        pages) the description index is built once and answers the rest."""
        if not words:
            return []
        asked = self._cache.get(("asked", release), 0)
        if ("index", release) not in self._cache and asked < self.INDEX_AFTER:
            self._cache[("asked", release)] = asked + 1
            near = []
            starts = sorted(w[:5] for w in words)[:8]
            starts += [""] * (8 - len(starts))
            for r in self.rows("described_like", release=release, **{f"w{i + 1}": w for i, w in enumerate(starts)}):
                for d in {r["description"], r["description_tabular"]} - {None}:
                    cw = content_words(d)
                    if words <= cw and len(cw - words) <= slack:
                        near.append((len(cw - words), r["code"], d))
            return [(c, d) for _, c, d in sorted(near)]
        entries, by_word = self.description_index(release)
        if not words or any(w not in by_word for w in words):
            return []
        hits = set.intersection(*(by_word[w] for w in words))
        near = [(len(entries[i][0] - words), entries[i][1], entries[i][2]) for i in hits if len(entries[i][0] - words) <= slack]
        return [(c, d) for _, c, d in sorted(near)]

    def described_within(self, release: str, phrase: str, slack: int) -> list[tuple[str, str]]:
        """Like :meth:`described_as` for the words of `phrase`, counting repeated words ('with ... with')."""
        return [(c, d) for c, d in self.described_as(release, content_words(phrase), slack) if within(phrase, d)]

    def header_release(self, code: str, day_release: str) -> dict | None:
        """For a release loaded from a valid-code file (no headers): the nearest loaded release that has
        `code` and headers, to describe a header the day's file cannot list; None if there is none."""
        every = self.code_everywhere(code)
        day = next((r for r in every if r["release"] == day_release), None)
        if day is None or day["has_headers"]:
            return None
        found = [r for r in every if r["has_headers"] and r["description"] is not None]
        return min(found, key=lambda r: abs((r["effective_from"] - day["effective_from"]).days)) if found else None

    def history(self, code: str) -> list[dict]:
        """Spans of unchanged validity of `code` (table icd10cm_code_history)."""
        self.need("icd10cm_code_history", "ICD-10-CM code history across releases")
        return self._cached(("history", code), lambda: self.rows("code_history", code=code))

    def replacements(self, code: str) -> list[dict]:
        """Codes that replaced `code` and since when (table icd10cm_replacements, CDC conversion table)."""
        self.need("icd10cm_replacements", "the CDC ICD-10-CM conversion table")
        return self.rows("replacements", code=code)

    # ---------------------------------------------------------------------------------- ICD-9-CM

    def icd9_description(self, code: str) -> dict | None:
        """The ICD-9-CM v32 row of a diagnosis code (table icd9cm_codes), or None when it is not there."""
        self.need("icd9cm_codes", "ICD-9-CM v32 descriptions")
        rows = self.rows("icd9_description", code=code)
        return rows[0] if rows else None

    def icd9_universe(self) -> set[str]:
        """Every ICD-9-CM diagnosis code the warehouse knows (icd9cm_codes when loaded, else the GEMs)."""
        def build():
            """The set, read once."""
            codes = {r["code"] for r in self.rows("gem_icd9_codes")}
            if "icd9cm_codes" in self.tables:
                codes |= {r["code"] for r in self.rows("icd9_codes")}
            return codes
        return self._cached(("icd9u",), build)

    # ------------------------------------------------------------------------------------ MS-DRG

    def msdrg(self, as_of: dt.date) -> dict:
        """The MS-DRG version in effect on `as_of` (release id such as 'v43')."""
        return self.release("msdrg", as_of)

    def msdrg_versions(self) -> list[str]:
        """MS-DRG versions loaded."""
        return self._cached(("versions",), lambda: [r[0] for r in self.con.execute(
            "SELECT DISTINCT version FROM msdrg_dx_drg ORDER BY 1").fetchall()])

    def drg_family(self, code: str, version: str) -> list[dict]:
        """The MS-DRGs a diagnosis leads to (Appendix B) with titles and weights."""
        return self._cached(("fam", code, version), lambda: self.rows("drg_family", code=code, version=version))

    def drg_def(self, drg: str, version: str) -> dict | None:
        """An MS-DRG's title, MDC and weights in `version`, or None."""
        rows = self._cached(("drg", drg, version), lambda: self.rows("drg_def", drg=drg, version=version))
        return rows[0] if rows else None

    def weights_source(self, version: str) -> dict:
        """The IPPS Table 5 that carries the weights of MS-DRG `version`."""
        used = self._cached(("ipps", version), lambda: _ipps_used(self.con, version))
        return self.source("ipps", used[0][1], "table5") if used else self.source("msdrg", version)

    # ----------------------------------------------------------------------------------------- PFS

    def pfs(self, as_of: dt.date) -> dict:
        """The Medicare PFS release in effect on `as_of`."""
        return self.release("pfs", as_of)

    def pfs_item(self, hcpcs: str, release: str | None = None) -> list[dict]:
        """The PFS row (global service) of `hcpcs` with national amounts, in `release` or in every release."""
        return self._cached(("pfs", hcpcs, release), lambda: self.rows("pfs_item", hcpcs=hcpcs, release=release))
