"""One rule per kind of claim: the claim, read against the warehouse as of the page's date -> an outcome
(verdict, official value, source, note), or None for a tentative claim that is no claim.

Every official value here comes from the warehouse through :class:`codeetl.check.facts.Facts`.
"""

from __future__ import annotations

from decimal import Decimal

from codeetl.check.claims import Claim
from codeetl.check.facts import MissingData
from codeetl.check.mentions import icd9_range
from codeetl.check.verify import (
    Context,
    cannot,
    describe_row,
    money,
    ok,
    other_codes_described,
    same_amount,
    words_match,
    wrong,
)
from codeetl.check.words import content_words, descriptor_overlap, same_words, within

# ----------------------------------------------------------------------------------- ICD-10-CM codes


def _row_or_absent(code: str, ctx: Context):
    """The day's release and the code's row in it. A release loaded from a valid-code file lists no
    headers: a header is then described from the nearest release that has headers (row['seen_in'])."""
    rel = ctx.icd10()
    row = ctx.facts.code_row(code, rel["release"])
    if row is None:
        other = ctx.facts.header_release(code, rel["release"])
        if other and not other["is_billable"]:
            row = ctx.facts.code_row(code, other["release"]) | {"seen_in": other["release"]}
    return rel, row


def _seen(row: dict, rel: dict) -> str:
    if row.get("seen_in"):
        return (f" (ICD-10-CM {rel['release']} lists valid codes only; {row['code']} is a header in "
                f"{row['seen_in']})")
    return f" (ICD-10-CM {rel['release']})"


def _absent(code: str, ctx: Context) -> tuple:
    rel = ctx.icd10()
    where = [r["release"] for r in ctx.facts.code_everywhere(code) if r["description"] is not None]
    msg = f"{code} is not an ICD-10-CM code in release {rel['release']} ({rel['label']}), in effect on {ctx.as_of}"
    if where:
        msg += f"; it is in release(s) {', '.join(where)}"
    return wrong(msg, ctx.icd10_source())


def later_changes(code: str, ctx: Context) -> str:
    """What changed for `code` after the day, in the releases loaded (or the history table when present)."""
    try:
        rels = ctx.facts.icd10_releases()
        last_day = rels[-1]["effective_to"] if rels else None
        told = _history_changes(ctx.facts.history(code), ctx.as_of, last_day)
        if told:
            return told
    except MissingData:
        pass
    every = ctx.facts.code_everywhere(code)
    rid = ctx.icd10()["release"]
    mine = next((r for r in every if r["release"] == rid and r["description"] is not None), None)
    later = [r for r in every if r["effective_from"] > ctx.as_of and r["release"] != rid]
    if not later:
        latest = every[-1]["release"] if every else rid
        return f"no later ICD-10-CM release is loaded (latest: {latest}), so changes after it are not known here"
    notes = []
    for r in later:
        if r["description"] is None and r["has_headers"]:
            notes.append(f"not in {r['release']} (from {r['effective_from']})")
        elif r["description"] is None and mine and mine["is_billable"]:
            notes.append(f"not a valid code in {r['release']} (from {r['effective_from']}; that release lists valid codes only)")
        elif r["description"] is not None and mine and r["description"] != mine["description"]:
            notes.append(f"described '{r['description']}' in {r['release']}")
        elif r["description"] is not None and mine and r["is_billable"] != mine["is_billable"]:
            notes.append(f"{'billable' if r['is_billable'] else 'a header'} in {r['release']}")
    return "; ".join(notes) or f"unchanged in the later release(s) loaded ({', '.join(r['release'] for r in later)})"


def _history_changes(spans: list[dict], day, last_day) -> str | None:
    """What icd10cm_code_history says happened to a code after `day` (data reach `last_day`, None when open):
    when its span ends, what it is in the spans after (billable/header, description) and the days it is no
    valid code. None when nothing changes."""
    import datetime as dt

    one = dt.timedelta(days=1)
    now = next((h for h in spans if h["valid_from"] <= day and (h["valid_to"] is None or day <= h["valid_to"])), None)
    later = [h for h in spans if h["valid_from"] > day]
    if now is None or (now["valid_to"] is None or now["valid_to"] == last_day) and not later:
        return None
    told, end = [f"as on the page's date until {now['valid_to']}"], now["valid_to"]
    for h in later:
        if end is not None and h["valid_from"] > end + one:
            told.append(f"not a valid code from {end + one} to {h['valid_from'] - one}")
        title = f"'{h['description']}'" if h["description"] is not None else "title unknown"
        told.append(f"from {h['valid_from']}: {'billable' if h['is_billable'] else 'a header'}, {title}")
        end = h["valid_to"]
    if end is not None and end != last_day:
        told.append(f"not in the releases loaded after {end}")
    return "; ".join(told) + " (icd10cm_code_history)"


def validity(c: Claim, ctx: Context):
    """The page's code exists on the day: confirmed with its status and release, and what later releases change."""
    rel, row = _row_or_absent(c.subject, ctx)
    if row is None:
        return _absent(c.subject, ctx)
    span = f"{rel['effective_from']} to {rel['effective_to'] or 'open'}"
    note = ("" if rel.get("in_effect", True) else "that release is not in effect on the date; it is the latest loaded "
            "before it. ") + "Since then: " + later_changes(c.subject, ctx)
    seen = f"; ICD-10-CM {rel['release']} lists valid codes only, {c.subject} is a header in {row['seen_in']}" if row.get(
        "seen_in") else ""
    return ok(f"{describe_row(row)} — in ICD-10-CM {rel['release']} ({rel['label']}, {span}){seen}", ctx.icd10_source(), note)


def _since(code: str, ctx: Context) -> str:
    """When `code` stopped being billable: the CDC conversion table's replacements, else what the loaded
    releases show."""
    try:
        rep = ctx.facts.replacements(code)
        if rep:
            return (f"replaced by {', '.join(r['replaced_by'] for r in rep)} effective {rep[0]['effective']} "
                    "(CDC ICD-10-CM conversion table)")
    except MissingData as e:  # say what is missing, and what the loaded releases show
        billable_in = [r["release"] for r in ctx.facts.code_everywhere(code) if r["is_billable"]]
        if billable_in:
            return f"billable in release(s) {', '.join(billable_in)}; the date it changed needs {e}"
        loaded = ", ".join(r["release"] for r in ctx.facts.code_everywhere(code))
        return f"not billable in any loaded release ({loaded}); since when needs what is missing: {e}"
    return "no replacement is recorded for it"


def billable(c: Claim, ctx: Context):
    """A code is billable (or a header) on the day; a header named as billable is contradicted with its billable codes and since when."""
    rel, row = _row_or_absent(c.subject, ctx)
    if row is None:
        return _absent(c.subject, ctx)
    said = "billable" if c.value else "a header (not billable)"
    if row["is_billable"] == bool(c.value):
        return ok(describe_row(row) + _seen(row, rel), ctx.icd10_source())
    if row["is_billable"]:
        return wrong(describe_row(row) + f" (ICD-10-CM {rel['release']}); the page says {said}", ctx.icd10_source())
    below = ctx.facts.billable_below(c.subject, row.get("seen_in") or rel["release"])
    official = (f"{c.subject} is a header, not a billable code, on {ctx.as_of} (ICD-10-CM {rel['release']}); "
                f"its billable codes: {', '.join(b['code'] for b in below) or 'none'}")
    return wrong(official, ctx.icd10_source(), _since(c.subject, ctx))


def status_since(c: Claim, ctx: Context):
    """'M54.5 is a header since 2021-10-01': the CDC conversion table's effective date of its replacements
    (or the history table's end of its billable span)."""
    rel, row = _row_or_absent(c.subject, ctx)
    if row is None:
        return _absent(c.subject, ctx)
    try:
        rep = ctx.facts.replacements(c.subject)
    except MissingData as e:
        return cannot(f"{describe_row(row)}{_seen(row, rel)}; since when needs {e}", ctx.icd10_source())
    src = ctx.facts.source_named("icd10cm", "%conversion%")
    if not rep:
        return wrong(f"the CDC conversion table records no replacement of {c.subject}", src)
    eff = rep[0]["effective"]
    official = f"{c.subject} replaced by {', '.join(r['replaced_by'] for r in rep)} effective {eff}"
    return (ok if str(eff) == c.value else wrong)(official, src)


def existence(c: Claim, ctx: Context):
    """A code or category named exists on the day."""
    rel, row = _row_or_absent(c.subject, ctx)
    if row is None:
        return _absent(c.subject, ctx)
    what = "category (header)" if not row["is_billable"] else "code"
    return ok(f"{c.subject} is a {what}: {row['description']}" + _seen(row, rel), ctx.icd10_source())


def _officials(code: str, ctx: Context, row: dict) -> list[str]:
    texts = [row["description"], row["description_tabular"]] + ctx.facts.inclusion_terms(code, row["release"])
    return [t for t in texts if t]


def description(c: Claim, ctx: Context):
    """A description given for a code: confirmed when the page's words abridge the official ones
    (description, Tabular title or inclusion terms), contradicted when they are another code's; None for a
    tentative claim that reads as no description."""
    rel, row = _row_or_absent(c.subject, ctx)
    if row is None:
        return None if c.tentative else _absent(c.subject, ctx)
    officials = _officials(c.subject, ctx, row)
    mode = c.extra.get("mode")
    if mode == "sentence":
        return _association(c, ctx, row, officials)
    phrases = _suffixes(c.value) if mode == "before" else [c.value]
    src = ctx.icd10_source()
    own = [p for p in phrases if any(within(p, o) for o in officials)]
    longest_own = max((len(content_words(p)) for p in own), default=0)
    for p in sorted(phrases, key=lambda x: -len(content_words(x))):
        if len(content_words(p)) <= longest_own:
            break
        other = other_codes_described(ctx, p, {c.subject})
        if other:
            return wrong(f"{c.subject} is '{row['description']}'; '{p}' is {other[0][0]} ({other[0][1]})", src)
    if own or any(within(o, c.value) for o in officials):
        return ok(f"{c.subject}: {row['description']}", src)
    if c.tentative and not (content_words(c.value) & set().union(*(content_words(o) for o in officials))):
        return None
    return cannot(f"the page's words '{c.value}' neither match {c.subject}'s description '{row['description']}' nor "
                  "any other code's", src)


def _suffixes(phrase: str) -> list[str]:
    words = phrase.split()
    return [" ".join(words[i:]) for i in range(len(words))]


def _association(c: Claim, ctx: Context, row: dict, officials: list[str]):
    """A sentence naming a code and words: it ties the words to the code if they are a sibling's description."""
    said = content_words(c.value)
    if any(len(content_words(o)) >= 2 and content_words(o) <= said for o in officials):
        return ok(f"{c.subject}: {row['description']}", ctx.icd10_source())
    named = set(_codes_in(c.value))
    near = ctx.facts.siblings(c.subject, row["parent"], row["release"])
    for s in near:
        if s["code"] not in named and len(content_words(s["description"])) >= 2 and content_words(s["description"]) <= said:
            return wrong(f"{c.subject} is '{row['description']}'; '{s['description'].lower()}' is {s['code']}",
                         ctx.icd10_source())
    return None


def _codes_in(text: str) -> list[str]:
    from codeetl.check.mentions import icd10_mentions

    return [m.code for m in icd10_mentions(text)]


# -------------------------------------------------------------------------------- hierarchy and notes


def _hierarchy_page(code: str, ctx: Context) -> dict:
    p = ctx.page(code)
    if not p["hierarchy"]:
        raise NoHierarchy(f"ICD-10-CM {p['release']['release']}: {p['hierarchy_note']}")
    return p


class NoHierarchy(MissingData):
    """The release of the day has no chapters, sections or notes."""


def chapter(c: Claim, ctx: Context):
    """The chapter number of a code."""
    p = _hierarchy_page(c.subject, ctx)
    ch = p["chapter"]
    official = f"{c.subject} is in Chapter {ch['number']}: {ch['title']} ({ch['first_code']}-{ch['last_code']})"
    return (ok if ch["number"] == c.value else wrong)(official, ctx.icd10_source())


def chapter_title(c: Claim, ctx: Context):
    """The title of a code's chapter."""
    p = _hierarchy_page(c.subject, ctx)
    ch = p["chapter"]
    official = f"Chapter {ch['number']}: {ch['title']}"
    good = words_match(c.value, ch["title"]) and c.extra.get("chapter") in (None, ch["number"])
    return (ok if good else wrong)(official, ctx.icd10_source())


def category(c: Claim, ctx: Context):
    """The category (or a subcategory above it) of a code."""
    p = ctx.page(c.subject)
    cat = p["category"]["code"]
    official = f"{c.subject} is in category {cat}" + (f" ({p['category']['description']})" if p["category"]["description"] else "")
    if c.value == cat:
        return ok(official, ctx.icd10_source())
    if any(a["code"] == c.value for a in p["ancestors"]):
        return ok(official + f"; {c.value} is a subcategory above it", ctx.icd10_source())
    if not p["hierarchy"] and c.subject.startswith(c.value):
        return cannot(f"{official}; whether {c.value} is above it needs the hierarchy: ICD-10-CM "
                      f"{p['release']['release']}: {p['hierarchy_note']}", ctx.icd10_source())
    return wrong(official, ctx.icd10_source())


def sibling(c: Claim, ctx: Context):
    """A code listed beside the page's code: a sibling (same parent) or at least in the same category."""
    p = _hierarchy_page(c.subject, ctx)
    sibs = {s["code"]: s for s in p["siblings"]}
    if c.value in sibs:
        s = sibs[c.value]
        return ok(f"{c.value} ({s['description']}) is a sibling of {c.subject} under {p['ancestors'][-1]['code']}",
                  ctx.icd10_source())
    row = ctx.facts.code_row(c.value, p["release"]["release"])
    listed = ", ".join(sibs) or "none"
    if row and row["category"] == p["category"]["code"]:
        return ok(f"{c.value} is in category {row['category']} with {c.subject}, under {row['parent']}; the codes "
                  f"beside {c.subject} are {listed}", ctx.icd10_source())
    return wrong(f"{c.value} is not in {c.subject}'s category {p['category']['code']}; its siblings: {listed}",
                 ctx.icd10_source())


def _ref_matches(code: str, refs: list[str]) -> bool:
    for r in refs:
        if "-" in r:
            lo, hi = r.split("-", 1)
            if lo <= code[: len(lo)] <= hi:
                return True
        elif code == r or code.startswith(r + ".") or ("." in r and code.startswith(r)):
            return True
    return False


def note(c: Claim, ctx: Context):
    """An instructional note of a type naming a code, in the notes that apply to the page's code (or printed
    under the node the page names)."""
    p = _hierarchy_page(ctx.page_code or c.subject, ctx)
    want, code = c.value["type"], c.value["code"]
    lineage = {a["code"] for a in p["ancestors"]} | {p["code"], str(p["chapter"]["number"]), p["section"]["id"]}
    if c.subject in lineage:
        notes = [n for n in p["notes"] if c.subject in (p["code"], n["from"]["code"])]
        where = c.subject
    else:
        notes = [{"type": n["note_type"], "text": n["note"], "referenced_codes": n["referenced_codes"],
                  "from": {"code": c.subject}} for n in ctx.facts.node_notes(c.subject, p["release"]["release"])]
        where = c.subject
    hits = [n for n in notes if _ref_matches(code, n["referenced_codes"]) and n["type"] not in ("notes", "inclusionTerm")]
    right = [n for n in hits if n["type"] == want]
    if right:
        n = right[0]
        return ok(f"{n['type']} note of {n['from']['code']}: {n['text']}", ctx.icd10_source())
    if hits:
        n = hits[0]
        return wrong(f"{code} is in the {n['type']} note of {n['from']['code']} ({n['text']}), not {want}", ctx.icd10_source())
    of_type = sorted({r for n in notes if n["type"] == want for r in n["referenced_codes"]})
    return wrong(f"no {want} note that applies to {where} names {code}; those that do name: "
                 f"{', '.join(of_type) or 'nothing'}", ctx.icd10_source())


def seventh_required(c: Claim, ctx: Context):
    """Whether the code takes a 7th character."""
    p = _hierarchy_page(c.subject, ctx)
    chars = p["seventh_characters"]
    if chars:
        official = f"{c.subject} takes a 7th character ({', '.join(x['char'] for x in chars)}; defined at {chars[0]['defined_at']})"
    else:
        official = f"{c.subject} has no 7th character"
    return (ok if bool(chars) == c.value else wrong)(official, ctx.icd10_source())


def seventh_character(c: Claim, ctx: Context):
    """A 7th character and its meaning."""
    p = _hierarchy_page(c.subject, ctx)
    chars = {x["char"]: x for x in p["seventh_characters"]}
    if c.value not in chars:
        return wrong(f"{c.subject} has no 7th character {c.value} (its 7th characters: {', '.join(chars) or 'none'})",
                     ctx.icd10_source())
    x = chars[c.value]
    official = f"7th character {x['char']} ({x['defined_at']}): {x['meaning']}"
    return (ok if words_match(c.extra["meaning"], x["meaning"]) else wrong)(official, ctx.icd10_source())


# ------------------------------------------------------------------------------------------ ICD-9-CM


def _gems(c: Claim, ctx: Context) -> tuple[dict, dict]:
    p = ctx.page(c.subject)
    if not p["icd9"]:
        raise NoHierarchy("the warehouse has no GEMs")
    g = p["icd9"]
    if not g["icd10_to_icd9"]["entries"] and not g["icd9_to_icd10"]["entries"]:
        raise NoHierarchy(f"{c.subject} is in neither GEM ({g['release']}, the final release): it was created after "
                          "them or never mapped")
    return g, ctx.facts.source("gems", g["release"], "i10_to_i9")


def icd9(c: Claim, ctx: Context):
    """An ICD-9-CM code is an equivalent of the code in either GEM."""
    g, src = _gems(c, ctx)
    eq = g["equivalents"]
    official = f"{c.subject} ↔ {', '.join(eq) or 'no ICD-9-CM code'} (GEMs {g['release']})"
    return (ok if c.value in eq else wrong)(official, src)


def icd9_set(c: Claim, ctx: Context):
    """A range of ICD-9-CM codes is exactly the code's equivalents."""
    g, src = _gems(c, ctx)
    lo, hi = c.value
    known = ctx.facts.icd9_universe()
    unknown = [x for x in (lo, hi) if x not in known]
    eq = set(g["equivalents"])
    if unknown:
        return wrong(f"{', '.join(unknown)} is not an ICD-9-CM diagnosis code; {c.subject} ↔ "
                     f"{', '.join(sorted(eq)) or 'no ICD-9-CM code'} (GEMs {g['release']})", src)
    span = [x for x in icd9_range(lo, hi) if x in known]
    if not span:
        return cannot(f"the range {lo}–{hi} cannot be counted code by code")
    official = f"{c.subject} ↔ {', '.join(sorted(eq)) or 'no ICD-9-CM code'} (GEMs {g['release']})"
    if set(span) == eq:
        return ok(official, src)
    missing, extra = sorted(eq - set(span)), sorted(set(span) - eq)
    return wrong(official, src, "; ".join(filter(None, [missing and f"the range leaves out {', '.join(missing)}",
                                                         extra and f"the range adds {', '.join(extra)}"])))


def icd9_description(c: Claim, ctx: Context):
    """The meaning of an ICD-9-CM code (v32 long description; needs table icd9cm_codes)."""
    row = ctx.facts.icd9_description(c.subject)
    src = ctx.facts.source_named("icd9cm", "%LONG_DX%")
    if row is None:
        return wrong(f"{c.subject} is not an ICD-9-CM diagnosis code (v32)", src)
    return (ok if within(c.value, row["description"]) else wrong)(f"{c.subject}: {row['description']}", src)


def icd9_approximate(c: Claim, ctx: Context):
    """Whether the GEM entries of the code are flagged approximate."""
    g, src = _gems(c, ctx)
    entries = g["icd10_to_icd9"]["entries"] or g["icd9_to_icd10"]["entries"]
    flags = {e["approximate"] for e in entries if not e["no_map"]}
    if not flags:
        return cannot(f"{c.subject} has no ICD-9-CM equivalent to compare", src)
    approx = all(flags)
    official = f"the GEM entries of {c.subject} are {'approximate' if approx else 'exact' if not any(flags) else 'mixed'}"
    return (ok if approx == c.value else wrong)(official, src)


# -------------------------------------------------------------------------------------------- MS-DRG


def _version(c: Claim, ctx: Context) -> str:
    """The MS-DRG version the page names on the claim's line (if loaded), else the one of the day."""
    stated = [x.value for x in ctx.claims if x.kind == "drg_version" and x.line == c.line]
    loaded = ctx.facts.msdrg_versions()
    if stated and f"v{stated[0]}" in loaded:
        return f"v{stated[0]}"
    return ctx.facts.msdrg(ctx.as_of)["release"]


def drg_version(c: Claim, ctx: Context):
    """The MS-DRG version the page names is the one in effect on the day. The finder reads the version number
    without its point (v43.0 and v43.1 are both 43), so a point release in effect (v43.1 from April 1, 2026)
    confirms the version it belongs to."""
    rel = ctx.facts.msdrg(ctx.as_of)
    src = ctx.facts.source("msdrg", rel["release"])
    official = f"{rel['label']} is in effect on {ctx.as_of} ({rel['effective_from']} to {rel['effective_to']})"
    if not rel["in_effect"]:
        return cannot(f"no loaded MS-DRG version is in effect on {ctx.as_of} (latest loaded: {rel['release']})", src)
    return (ok if rel["release"].split(".")[0] == f"v{c.value}" else wrong)(official, src)


def drg(c: Claim, ctx: Context):
    """An MS-DRG the code leads to (Appendix B), in the version the line names or the one of the day."""
    version = _version(c, ctx)
    fam = ctx.facts.drg_family(c.subject, version)
    src = ctx.facts.source("msdrg", version, "appendix_b")
    groups = "; ".join(f"MDC {m}: {', '.join(r['drg'] for r in fam if r['mdc'] == m)}" for m in dict.fromkeys(r["mdc"] for r in fam))
    official = f"{c.subject} → {groups or 'no MS-DRG'} (MS-DRG {version}, Appendix B)"
    return (ok if any(r["drg"] == c.value for r in fam) else wrong)(official, src)


def drg_title(c: Claim, ctx: Context):
    """An MS-DRG's title (Appendix A), word for word."""
    version = _version(c, ctx)
    src = ctx.facts.source("msdrg", version, "appendix_a")
    numbers = c.extra.get("any_of") or [c.subject]
    defs = [ctx.facts.drg_def(n, version) for n in numbers]
    if any(d is None for d in defs):
        return wrong(f"MS-DRG {', '.join(n for n, d in zip(numbers, defs) if d is None)} does not exist in {version}", src)
    titles = [d["title"] or d["title_ipps"] for d in defs]
    official = "; ".join(f"{n} {t}" for n, t in zip(numbers, titles))
    good = same_words(c.value, titles[0]) if len(titles) == 1 else content_words(c.value) <= set().union(
        *(content_words(t) for t in titles))
    return (ok if good else wrong)(official + f" (MS-DRG {version})", src)


def drg_weight(c: Claim, ctx: Context):
    """An MS-DRG's relative weight (IPPS Table 5, 10% cap applied; the weight before the cap is accepted and said)."""
    version = _version(c, ctx)
    d = ctx.facts.drg_def(c.subject, version)
    src = ctx.facts.weights_source(version)
    if d is None or d["weight"] is None:
        return cannot(f"MS-DRG {c.subject} has no weight in {version}", src)
    claimed = Decimal(c.value)
    official = f"MS-DRG {c.subject} relative weight {d['weight']} (before the 10% cap: {d['weight_before_cap']})"
    if claimed == d["weight"]:
        return ok(official, src)
    if claimed == d["weight_before_cap"]:
        return ok(official, src, "the page gives the weight before the cap")
    return wrong(official, src)


def mdc(c: Claim, ctx: Context):
    """The MDC of the code's MS-DRGs."""
    version = _version(c, ctx)
    fam = ctx.facts.drg_family(c.subject, version)
    mdcs = sorted({r["mdc"] for r in fam})
    names = {r["mdc"]: r["mdc_name"] for r in fam}
    official = f"{c.subject} is in MDC {', '.join(f'{m} ({names[m]})' for m in mdcs) or 'none'} (MS-DRG {version})"
    return (ok if c.value in mdcs else wrong)(official, ctx.facts.source("msdrg", version, "appendix_b"))


# ------------------------------------------------------------------------------------------ procedures


def _pfs_row(hcpcs: str, ctx: Context) -> tuple[dict, dict | None, dict]:
    rel = ctx.facts.pfs(ctx.as_of)
    rows = ctx.facts.pfs_item(hcpcs, rel["release"])
    return rel, (rows[0] if rows else None), ctx.facts.source("pfs", rel["release"])


def _amounts(row: dict) -> str:
    nf = money(row["nonfacility_amount"]) if row["nonfacility_amount"] is not None else f"NA ({row['nonfacility_note']})"
    f = money(row["facility_amount"]) if row["facility_amount"] is not None else f"NA ({row['facility_note']})"
    return f"national non-facility {nf}, facility {f}"


def fee(c: Claim, ctx: Context):
    """A fee against the national PFS amount of the release of the day, in the setting the page names or the
    one that matches (and which)."""
    rel, row, src = _pfs_row(c.subject, ctx)
    if row is None:
        return cannot(f"{c.subject} is not in the Medicare PFS release {rel['release']}", src)
    nf, f = row["nonfacility_amount"], row["facility_amount"]
    setting = c.extra.get("setting")
    official = f"{c.subject}: {_amounts(row)} (PFS {rel['release']}, {rel['label']})"
    if setting == "facility" and same_amount(c.value, f) or setting == "non-facility" and same_amount(c.value, nf):
        return ok(official, src, f"the {setting} amount, as the page says")
    if setting is None and same_amount(c.value, nf):
        return ok(official, src, "the non-facility amount")
    if setting is None and same_amount(c.value, f):
        return ok(official, src, "the facility amount" + (" (no non-facility amount)" if nf is None else ""))
    return wrong(official, src, _elsewhere(c, ctx, rel["release"]))


def _elsewhere(c: Claim, ctx: Context, rid: str) -> str | None:
    """Where else the page's amount is an official one: another setting, or another PFS release."""
    for r in ctx.facts.pfs_item(c.subject):
        for key, name in (("nonfacility_amount", "non-facility"), ("facility_amount", "facility")):
            if same_amount(c.value, r[key]):
                return (f"${c.value} is the {name} amount" if r["release"] == rid
                        else f"${c.value} is the {name} amount of PFS release {r['release']}, not the one in effect")
    return None


def fee_missing(c: Claim, ctx: Context):
    """A procedure listed without a fee: confirmed when the PFS has no national amount, contradicted when it has one."""
    rel, row, src = _pfs_row(c.subject, ctx)
    if row is None:
        return ok(f"{c.subject} is not in the Medicare PFS release {rel['release']}: no national amount", src)
    if row["nonfacility_amount"] is None and row["facility_amount"] is None:
        why = row["nonfacility_note"] or row["facility_note"] or "no amount"
        return ok(f"{c.subject}: no national amount ({why}) (PFS {rel['release']})", src)
    return wrong(f"{c.subject}: {_amounts(row)} (PFS {rel['release']}); the page shows no fee", src)


def procedure_descriptor(c: Claim, ctx: Context):
    """A procedure's wording against the PFS short descriptor (the full CPT descriptor is AMA's and not in the warehouse)."""
    rel, row, src = _pfs_row(c.subject, ctx)
    if row is None:
        return cannot(f"{c.subject} is not in the Medicare PFS release {rel['release']}", src)
    short = row["description"]
    score = descriptor_overlap(short, c.value)
    official = f"{c.subject} short descriptor: {short} (PFS {rel['release']}; CPT © AMA)"
    if score >= 0.5:
        return ok(official, src)
    others = {x.subject for x in ctx.claims if x.kind in ("fee", "fee_missing", "procedure_descriptor")} - {c.subject}
    for h in sorted(others):
        r2 = ctx.facts.pfs_item(h, rel["release"])
        if r2 and descriptor_overlap(r2[0]["description"], c.value) >= max(0.5, score + 0.25):
            return wrong(official, src, f"the page's words read like {h} ({r2[0]['description']})")
    return cannot(f"the page's words share little with the PFS short descriptor '{short}'; the full CPT "
                  "descriptor is AMA-copyrighted and not in the warehouse", src)


def procedure_count(c: Claim, ctx: Context):
    """A count of related procedures: no official file links diagnoses to procedures, so never checkable here."""
    listed = len({x.subject for x in ctx.claims if x.kind in ("fee", "fee_missing")})
    return cannot(f"no official file links diagnoses to procedures (Medicare Coverage Database articles are not "
                  f"loaded); the page lists {listed}")


RULES = {
    "validity": validity, "billable": billable, "status_since": status_since, "existence": existence, "description": description,
    "chapter": chapter, "chapter_title": chapter_title, "category": category, "sibling": sibling, "note": note,
    "seventh_required": seventh_required, "seventh_character": seventh_character,
    "icd9": icd9, "icd9_set": icd9_set, "icd9_description": icd9_description, "icd9_approximate": icd9_approximate,
    "drg_version": drg_version, "drg": drg, "drg_title": drg_title, "drg_weight": drg_weight, "mdc": mdc,
    "fee": fee, "fee_missing": fee_missing, "procedure_descriptor": procedure_descriptor,
    "procedure_count": procedure_count,
}
