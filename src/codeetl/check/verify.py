"""Claims against the warehouse: each claim gets a verdict — confirmed, contradicted (with the official
value and its source) or not checkable (with why) — as of the page's date.

One small function per kind of claim (see :data:`codeetl.check.claims.KINDS`); all warehouse reads go
through :class:`codeetl.check.facts.Facts`. A tentative claim that turns out to be no claim at all (words in
parentheses that are no description) is dropped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import duckdb

from codeetl.check.claims import Claim
from codeetl.check.facts import CodeEtlError, CodeNotFound, Facts, MissingData, NoReleaseInEffect
from codeetl.check.words import content_words, within
from codeetl.errors import command

CONFIRMED, CONTRADICTED, NOT_CHECKABLE = "confirmed", "contradicted", "not checkable"


@dataclass
class Verdict:
    """A claim with its verdict, the official value (or why it cannot be checked) and the source."""

    claim: Claim
    verdict: str
    official: str | None = None
    source: dict | None = None
    note: str | None = None


@dataclass
class Context:
    """Everything a verdict depends on besides the claim: the warehouse, the day, the page."""

    facts: Facts
    as_of: dt.date
    release: str | None = None  # an ICD-10-CM release forced with --release
    page_code: str | None = None
    claims: list[Claim] = field(default_factory=list)

    def icd10(self) -> dict:
        """The ICD-10-CM release of the day (or the one forced)."""
        return self.facts.icd10_release(self.as_of, self.release)

    def icd10_source(self) -> dict:
        """The ICD-10-CM file the verdicts on codes come from."""
        return self.facts.source("icd10cm", self.icd10()["release"])

    def page(self, code: str) -> dict:
        """The code page of `code` on the day."""
        return self.facts.page(code, self.as_of, self.release)


def ok(official: str, source: dict | None, note: str | None = None) -> tuple:
    """A confirmed outcome."""
    return CONFIRMED, official, source, note


def wrong(official: str, source: dict | None, note: str | None = None) -> tuple:
    """A contradicted outcome."""
    return CONTRADICTED, official, source, note


def cannot(why: str, source: dict | None = None) -> tuple:
    """A not-checkable outcome."""
    return NOT_CHECKABLE, None, source, why


def verify_all(claims: list[Claim], ctx: Context) -> list[Verdict]:
    """Verdicts for `claims` in page order; tentative claims that are no claims are left out."""
    from codeetl.check import rules

    ctx.claims = claims
    out = []
    for c in claims:
        try:
            outcome = rules.RULES[c.kind](c, ctx)
        except MissingData as e:
            outcome = cannot(str(e))
        except NoReleaseInEffect as e:
            outcome = cannot(str(e))
        except CodeNotFound as e:
            outcome = None if c.tentative else cannot(str(e))
        except CodeEtlError as e:
            outcome = cannot(str(e))
        except duckdb.Error as e:  # a warehouse built by an older codeetl, without a table this claim needs
            outcome = cannot(f"the warehouse cannot answer this ({e.__class__.__name__}: {str(e).splitlines()[0]}); "
                             f"it may have been built by an older codeetl: run `{command('refresh')}`")
        if outcome is not None:
            out.append(Verdict(c, *outcome))
    return sorted(out, key=lambda v: v.claim.line)


# ------------------------------------------------------------------------------------ shared helpers


def money(v: Decimal | None) -> str:
    """'$1,065.49', or 'no amount'."""
    return "no amount" if v is None else f"${v:,.2f}"


def same_amount(claimed: str, official: Decimal | None) -> bool:
    """Equal to the cent; an amount stated in whole dollars is compared with the official one rounded
    half-up to dollars."""
    if official is None:
        return False
    c = Decimal(claimed)
    if "." not in claimed:
        return c == official.quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return c == official


def words_match(phrase: str, official: str) -> bool:
    """The page's words abridge the official text or the official text is all in them."""
    return within(phrase, official) or within(official, phrase)


def describe_row(row: dict) -> str:
    """'M54.5 (header) Low back pain'."""
    kind = "billable code" if row["is_billable"] else "header, not billable"
    return f"{row['code']} ({kind}): {row['description']}"


def other_codes_described(ctx: Context, phrase: str, skip: set[str]) -> list[tuple[str, str]]:
    """Codes of the day's release described by `phrase`: their description has all its content words and
    at most three more (so 'Lumbago with sciatica' is M54.40's 'Lumbago with sciatica, unspecified side');
    exact matches first. Phrases of one word describe too many codes to say."""
    words = content_words(phrase)
    if len(words) < 2:
        return []
    return [(c, d) for c, d in ctx.facts.described_within(ctx.icd10()["release"], phrase, 3) if c not in skip]
