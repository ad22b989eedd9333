"""Search (``/search?q=``, ``/api/search?q=``): codes of the ICD-10-CM release of a day, by code, title,
inclusion terms and notes, from the build's search index (:mod:`codeetl.build.search_index`).

Order: the code itself (``M96.1``, ``m961``), then codes it prefixes (``M96`` -> M96.0, M96.1, ...), then
text matches in tiers (:data:`TIERS`), the shortest title first within each; a word the index does not know
as a whole word is a prefix (``postlam`` finds postlaminectomy). When the words match nothing, each word the index does not
know is replaced by the nearest known word (one edit, two for words of eight letters or more, looked up by
its deletions in the index; the most used wins) and the search is run again, saying so (``corrected``).

JSON keys: ``query``, ``day`` (the day searched), ``release`` {dataset, release, label, effective_from, effective_to, in_effect},
``corrected`` (the query with its misspelt words replaced, as searched, or null), ``results`` [{``code``, ``title``, ``is_billable``,
``match`` ("code", "prefix" or "text"), ``context`` (for a text match in its terms or notes: the words
around it)}], ``sources`` (the release's downloads).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from codeetl.build.search_index import FORMAT, SEARCH_INDEX
from codeetl.codes import icd10_nodot
from codeetl.errors import CodeEtlError, command
from codeetl.pages.common import MalformedCode, sources
from codeetl.pages.resolver import pick_release
from codeetl.pages.store import build_file, readonly

MAX_QUERY = 200
MAX_LIMIT = 100
HIT = ("\x02", "\x03")  # around matched words in ``context`` of the index's snippets (removed in JSON)
_CODE = re.compile(r"^[A-Za-z][0-9A-Za-z]{0,2}(\.?[0-9A-Za-z]{0,4})?$")
_WORD = re.compile(r"\w+", re.UNICODE)
STOP_WORDS = frozenset("a an and as at by for from in into of on or the to with without".split())


class NoSearchIndex(CodeEtlError):
    """The published build has no search index (built by an older codeetl)."""


def search_page(con: duckdb.DuckDBPyConnection, q: str, as_of: dt.date | None = None, release: str | None = None,
                limit: int = 20, marks: bool = False) -> dict[str, Any]:
    """The search page of query `q` over the ICD-10-CM release of `as_of` (default today; by the resolver) or
    release `release`: see the module's doc. `marks` keeps the marks around matched words in ``context``
    (:data:`HIT`). MalformedCode for a query too long or not text; NoSearchIndex without an index."""
    text = " ".join(q.split())
    if len(text) > MAX_QUERY or not text.isprintable():
        raise MalformedCode(f"search: expected up to {MAX_QUERY} printable characters, got {len(q):,}")
    path = build_file(con, SEARCH_INDEX)
    if path is None:
        raise NoSearchIndex(f"this warehouse has no search index (built by an older codeetl): run `{command('refresh')}`")
    db = readonly(path)
    if db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() != (FORMAT,):
        raise NoSearchIndex(f"this warehouse's search index is of another format: run `{command('refresh')}`")
    if release:
        if not con.execute("SELECT 1 FROM release_calendar WHERE dataset = 'icd10cm' AND release = ?", [release]).fetchone():
            raise CodeEtlError(f"the warehouse has no ICD-10-CM release {release!r}")
        rel = pick_release(con, "icd10cm", con.execute(
            "SELECT effective_from FROM release_calendar WHERE dataset = 'icd10cm' AND release = ?", [release]).fetchone()[0])
    else:
        rel = pick_release(con, "icd10cm", as_of)
    limit = max(1, min(int(limit), MAX_LIMIT))
    results = code_matches(db, rel["release"], text, limit) if text else []
    seen = {r["code"] for r in results}
    corrected = None
    if text and len(results) < limit:
        words = query_words(text)
        found = text_matches(db, rel["release"], words, limit + len(seen))
        if not found and not results:
            better = corrections(db, words)
            if better != words:
                corrected, found = respelt(text, words, better), text_matches(db, rel["release"], better, limit)
        results += [r for r in found if r["code"] not in seen][: limit - len(results)]
    if not marks:
        for r in results:
            if r.get("context"):
                r["context"] = r["context"].replace(HIT[0], "").replace(HIT[1], "")
    day = rel["effective_from"] if release else (as_of or dt.date.today()).isoformat()
    return {"query": text, "day": day, "release": rel, "corrected": corrected, "results": results,
            "sources": sources(con, [("icd10cm", rel["release"])])}


def code_matches(db, release: str, text: str, limit: int) -> list[dict]:
    """The code `text` itself and the codes it prefixes (in code order), when `text` can be (part of) a code."""
    if not _CODE.match(text):
        return []
    nodot = icd10_nodot(text).upper()
    rows = db.execute(
        "SELECT d.code, d.title, d.billable, r.code_nodot = ? FROM release_code r JOIN doc d ON d.id = r.doc "
        "WHERE r.release = ? AND r.code_nodot >= ? AND r.code_nodot < ? ORDER BY r.code_nodot LIMIT ?",
        [nodot, release, nodot, nodot + "\uffff", limit]).fetchall()
    return [{"code": c, "title": t, "is_billable": bool(b), "match": "code" if exact else "prefix", "context": None}
            for c, t, b, exact in rows]


def query_words(text: str) -> list[str]:
    """The words of a query that are searched: lower case, without the FTS syntax and stop words (all of them
    when the query is nothing but stop words)."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in STOP_WORDS]
    return kept or words


TIERS = (("cited_fts", "title : ({q}) AND cited : ({q})"), ("doc_fts", "title : ({q})"), ("doc_fts", "{q}"))
"""Text matches in tiers: every word in the title and in a note elsewhere that names the code (how the
Tabular refers to it: "postlaminectomy syndrome NEC (M96.1)"), every word in the title, every word anywhere
(inclusion terms, notes). Within a tier the shortest title comes first (the index's ids are in that order,
so a search reads only the first matches): Postlaminectomy syndrome, named by a note, before
Postlaminectomy kyphosis; Fracture of clavicle before Nondisplaced fracture of ... clavicle. The first two
match in the title, so only the last one looks for the words around a match elsewhere (``context``)."""
_TIER_SQL = ("SELECT d.code, d.title, d.billable, {context} FROM {table} "
             "JOIN release_code r ON r.doc = {table}.rowid AND r.release = :release "
             "JOIN doc d ON d.id = {table}.rowid WHERE {table} MATCH :match ORDER BY {table}.rowid LIMIT :limit")
_IN_TITLE = "NULL"
_CONTEXT = ("CASE WHEN highlight({table}, 0, :on, :off) = d.title THEN snippet({table}, -1, :on, :off, '…', 10) END")


def fts_query(db, words: list[str]) -> str:
    """The FTS5 query of `words`: all of them; a word the index knows as a whole word is matched as such
    (with its stem's other forms), any other as a prefix (``postlam`` -> postlaminectomy) — except a single
    letter or digit (the ``s`` of ``toe(s)`` or ``Wegener's``, the ``d`` of ``vitamin d``), matched as a
    word: as a prefix it is every word with that first letter, which the index's prefixes (of 2 and 3
    letters) do not cover (``s*``: 1,000 terms, 90,000 entries to merge, 10-40 ms a query)."""
    known = {w for (w,) in db.execute(f"SELECT word FROM word WHERE word IN ({','.join('?' * len(words))})", words)}
    return " AND ".join('"' + w.replace('"', '""') + '"' + ("" if w in known or len(w) < 2 else "*") for w in words)


def text_matches(db, release: str, words: list[str], limit: int) -> list[dict]:
    """Documents of `release` matching every word, in the :data:`TIERS`, the shortest title first in each."""
    if not words:
        return []
    q = fts_query(db, words)
    out: list[dict] = []
    seen: set[str] = set()
    for table, tier in TIERS:
        context = _IN_TITLE if tier.startswith("title") else _CONTEXT.format(table=table)
        rows = db.execute(_TIER_SQL.format(context=context, table=table),
                          {"release": release, "match": tier.format(q=q), "limit": limit + len(seen),
                           "on": HIT[0], "off": HIT[1]}).fetchall()
        for c, t, b, context in rows:
            if c not in seen:
                seen.add(c)
                out.append({"code": c, "title": t, "is_billable": bool(b), "match": "text", "context": context})
        if len(out) >= limit:
            break
    return out[:limit]


def corrections(db, words: list[str]) -> list[str]:
    """`words` with each one the index does not know replaced by its nearest known word (see the module's
    doc), or kept."""
    out = []
    for w in words:
        if len(w) < 4 or db.execute("SELECT 1 FROM word WHERE word = ?", [w]).fetchone():
            out.append(w)
            continue
        most = 2 if len(w) >= 8 else 1
        variants = sorted(deletions(w, most))
        candidates = db.execute(
            f"SELECT DISTINCT w.word, w.n FROM word_variant v JOIN word w ON w.id = v.word "
            f"WHERE v.variant IN ({','.join('?' * len(variants))}) AND abs(length(w.word) - ?) <= ?",
            [*variants, len(w), most]).fetchall()
        near = [(edit_distance(w, c), -n, c) for c, n in candidates]
        near = sorted(x for x in near if x[0] <= most)
        out.append(near[0][2] if near else w)
    return out


def respelt(text: str, words: list[str], better: list[str]) -> str:
    """The query `text` with each of its `words` that :func:`corrections` replaced spelt as in `better`
    (``corhn's disease`` -> ``crohn's disease``)."""
    for w, b in zip(words, better):
        if w != b:
            text = re.sub(rf"(?<!\w){re.escape(w)}(?!\w)", lambda _: b, text, count=1, flags=re.IGNORECASE)
    return text


def deletions(word: str, most: int) -> set[str]:
    """`word` and every text made by deleting up to `most` of its letters (how ``word_variant`` lists the
    index's words: a known word within `most` edits shares one of them)."""
    out, last = {word}, {word}
    for _ in range(most):
        last = {v[:i] + v[i + 1:] for v in last for i in range(len(v))}
        out |= last
    return out


def edit_distance(a: str, b: str) -> int:
    """The Damerau-Levenshtein distance of `a` and `b` (optimal string alignment: insertions, deletions,
    substitutions and transpositions of neighbours each count one)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]
