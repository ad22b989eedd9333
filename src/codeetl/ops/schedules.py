"""The publication calendars (``schedules.toml``): what each dataset's publisher releases when, and when the
scheduled refresh runs. Plain data and date arithmetic: no Prefect, no DuckDB (``codeetl status`` uses it).

The refresh times are written as crons (the same lines work in a system crontab) and handed to Prefect as
the RRULE (RFC 5545) they translate to exactly (:func:`rrule_of`): Prefect 3.9's server cannot compute a
``CronSchedule`` in a named timezone on Python < 3.13 (``tzinfo must be of type ZoneInfo``), while it computes
RRULEs, daylight saving time included.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from codeetl.errors import CatalogError


@dataclass(frozen=True)
class Publication:
    name: str
    months: tuple[int, ...] = ()  # months it usually appears in
    effective: tuple[int, int] | None = None  # (month, day) it takes effect
    fiscal: bool = False  # named by the federal fiscal year of its effective day
    weekly: bool = False  # republished every week


@dataclass(frozen=True)
class Calendar:
    dataset: str
    cron: tuple[str, ...]
    publications: tuple[Publication, ...]
    timezone: str

    @property
    def rrule(self) -> str | None:
        """The refresh times as one RRULE set (one ``RRULE:`` line per cron, two where a cron names both days of
        the month and of the week); None without crons."""
        return rrule_of(self.cron)


# The cron fields (name, lowest, highest) and the RRULE part each becomes. Day of week: 0 and 7 are Sunday.
_FIELDS = (("minute", 0, 59, "BYMINUTE"), ("hour", 0, 23, "BYHOUR"), ("day of month", 1, 31, "BYMONTHDAY"),
           ("month", 1, 12, "BYMONTH"), ("day of week", 0, 7, "BYDAY"))
_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _cron_field(text: str, name: str, low: int, high: int, cron: str) -> list[int] | None:
    """The values a cron field allows, sorted; None for ``*`` (any). Numbers, ``a-b`` ranges and commas only:
    anything else (steps, names) is refused rather than translated approximately."""
    if text == "*":
        return None
    values: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if not (first.isdigit() and (not last or last.isdigit())) or not low <= int(first) <= int(last or first) <= high:
            raise CatalogError(f"schedules.toml: cron {cron!r}: {name} {text!r} is not * or numbers {low}-{high} "
                               "(a, a-b, lists with commas)")
        values.update(range(int(first), int(last or first) + 1))
    return sorted(values)


def rrule_of(crons: tuple[str, ...] | list[str]) -> str | None:
    """The RRULE set (RFC 5545 lines, ``RRULE:FREQ=DAILY;...``, joined by newlines) that fires exactly when any
    of `crons` does, in the same local time; None for no crons. A cron naming both a day of the month and a
    day of the week fires on either (cron's rule), so it becomes two RRULEs. CatalogError for a cron that is
    not five fields of numbers, ranges and lists."""
    lines: list[str] = []
    for cron in crons:
        fields = cron.split()
        if len(fields) != 5:
            raise CatalogError(f"schedules.toml: cron {cron!r} does not have 5 fields (minute hour day month weekday)")
        minute, hour, dom, month, dow = (_cron_field(f, *spec[:3], cron) for f, spec in zip(fields, _FIELDS))
        if minute is None or hour is None:
            raise CatalogError(f"schedules.toml: cron {cron!r}: give the minute and hour (a refresh at most a few times a day)")
        base = [f"BYMONTH={_join(month)}"] if month else []
        base += [f"BYHOUR={_join(hour)}", f"BYMINUTE={_join(minute)}", "BYSECOND=0"]
        days = ",".join(dict.fromkeys(_DAYS[d] for d in dow)) if dow else None
        if dom and days:  # cron fires on either day: two rules (the set's union)
            alternatives = [[f"BYMONTHDAY={_join(dom)}"], [f"BYDAY={days}"]]
        else:
            alternatives = [[f"BYMONTHDAY={_join(dom)}"] if dom else [f"BYDAY={days}"] if days else []]
        lines += ["RRULE:" + ";".join(["FREQ=DAILY", *alt, *base]) for alt in alternatives]
    return "\n".join(lines) or None


def _join(values: list[int]) -> str:
    return ",".join(str(v) for v in values)


def _publication(p: dict, where: str) -> Publication:
    if p.get("weekly"):
        return Publication(p["name"], weekly=True)
    try:
        month, day = (int(x) for x in p["effective"].split("-"))
        dt.date(2000, month, day)
        months = tuple(int(m) for m in p["published"])
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise CatalogError(f"schedules.toml [{where}]: a publication needs name, published = [months] and "
                           f"effective = \"MM-DD\" ({e})") from None
    return Publication(p["name"], months, (month, day), bool(p.get("fiscal")))


@cache
def calendars() -> dict[str, Calendar]:
    """Every dataset's calendar from ``schedules.toml``, by dataset name."""
    data = tomllib.loads(resources.files("codeetl.ops").joinpath("schedules.toml").read_text(encoding="utf-8"))
    tz = data.get("timezone", "UTC")
    out = {name: Calendar(name, tuple(v.get("cron", [])), tuple(_publication(p, name) for p in v.get("publications", [])), tz)
           for name, v in data.items() if isinstance(v, dict)}
    for cal in out.values():
        cal.rrule  # a cron that cannot be translated exactly fails here, naming it  # noqa: B018
    return out


def fiscal_year(day: dt.date) -> int:
    """The federal fiscal year of `day` (FY2027 runs from 2026-10-01 to 2027-09-30)."""
    return day.year + 1 if day.month >= 10 else day.year


def _occurrence(p: Publication, year: int) -> tuple[dt.date, dt.date, dt.date]:
    """The publication window (first and last day) starting in `year`, and the day it takes effect."""
    start = dt.date(year, p.months[0], 1)
    last = p.months[-1]
    end = (dt.date(year + (last < p.months[0]), last % 12 + 1, 1) if last != 12 else dt.date(year + 1, 1, 1)) - dt.timedelta(days=1)
    effective = dt.date(year, *p.effective)
    if effective < start:
        effective = dt.date(year + 1, *p.effective)
    return start, end, effective


def _label(p: Publication, effective: dt.date) -> str:
    return f"FY{fiscal_year(effective)} {p.name}" if p.fiscal else f"{p.name} ({effective.year})"


def next_expected(dataset: str, day: dt.date) -> dict | None:
    """The next publication of `dataset` the calendar expects on or after `day` (or whose window `day` is in):
    ``name``, ``published_from``, ``published_to``, ``effective_from``, ``in_window``; weekly ones give only
    ``name`` and ``expected: weekly``. None without a calendar or publications (the GEMs are final)."""
    cal = calendars().get(dataset)
    if cal is None or not cal.publications:
        return None
    if any(p.weekly for p in cal.publications):
        return {"name": cal.publications[0].name, "expected": "weekly"}
    found = []
    for p in cal.publications:
        for year in (day.year - 1, day.year, day.year + 1):
            start, end, effective = _occurrence(p, year)
            if end >= day:
                found.append((start, end, effective, p))
    start, end, effective, p = min(found, key=lambda f: f[0])
    return {"name": _label(p, effective), "published_from": start, "published_to": end, "effective_from": effective,
            "in_window": start <= day <= end}


def expected_in_effect(dataset: str, day: dt.date) -> dict | None:
    """The latest publication of `dataset` that, by the calendar, took effect on or before `day`: ``name``,
    ``effective_from`` (FY2027 October 1 release, 2026-10-01, on 2026-11-30). None without one."""
    cal = calendars().get(dataset)
    if cal is None or not cal.publications or any(p.weekly for p in cal.publications):
        return None
    found = []
    for p in cal.publications:
        for year in (day.year - 2, day.year - 1, day.year):
            effective = _occurrence(p, year)[2]
            if effective <= day:
                found.append((effective, p))
    effective, p = max(found, key=lambda f: f[0])
    return {"name": _label(p, effective), "effective_from": effective}
