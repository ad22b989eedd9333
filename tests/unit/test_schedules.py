"""The refresh schedules: each cron of ``schedules.toml`` becomes the RRULE Prefect's server computes, and the
times it fires are the ones the README's calendar states.

The expected times are listed by hand from the README table ("Schedules: codeetl serve") and a wall calendar
(``python3 -c "import calendar; print(calendar.month(2027, 2))"``); the UTC offsets follow the US daylight
saving rule (Energy Policy Act of 2005: EDT, UTC-4, from the second Sunday of March, 2027-03-14, to the first
Sunday of November, 2027-11-07; EST, UTC-5, otherwise). The fire times are computed by Prefect's own server
schema (``prefect.server.schemas.schedules.RRuleSchedule``): what its scheduler will create. Fixed clock.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from codeetl.errors import CatalogError
from codeetl.ops import schedules
from codeetl.ops.schedules import rrule_of

START = dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)  # a Sunday; not today: a fixed clock
EST, EDT = "-05:00", "-04:00"
README = Path(__file__).resolve().parents[2] / "README.md"


def at(day: str, time: str, offset: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}{offset}")


def fires(dataset: str, n: int, start: dt.datetime = START) -> list[dt.datetime]:
    """The first `n` fire times of `dataset`'s deployment after `start`, as Prefect's server computes them."""
    from prefect.server.schemas.schedules import RRuleSchedule

    cal = schedules.calendars()[dataset]
    sched = RRuleSchedule(rrule=cal.rrule, timezone=cal.timezone)
    return list(sched._get_dates_generator(n=n, start=start, end=start + dt.timedelta(days=800)))


# README: Mondays 06:00 in February-March and June-August; April 1 and October 1 (06:00), America/New_York.
ICD10CM = ([at(f"2027-02-{d:02}", "06:00", EST) for d in (1, 8, 15, 22)]
           + [at("2027-03-01", "06:00", EST), at("2027-03-08", "06:00", EST)]
           + [at(f"2027-03-{d}", "06:00", EDT) for d in (15, 22, 29)] + [at("2027-04-01", "06:00", EDT)]
           + [at(f"2027-06-{d:02}", "06:00", EDT) for d in (7, 14, 21, 28)]
           + [at(f"2027-07-{d:02}", "06:00", EDT) for d in (5, 12, 19, 26)]
           + [at(f"2027-08-{d:02}", "06:00", EDT) for d in (2, 9, 16, 23, 30)]
           + [at("2027-10-01", "06:00", EDT), at("2028-02-07", "06:00", EST)])
# README: IPPS (and MS-DRG, which comes with it): Mondays 07:00 in August-September; October 1.
IPPS = ([at(f"2027-08-{d:02}", "07:00", EDT) for d in (2, 9, 16, 23, 30)]
        + [at(f"2027-09-{d:02}", "07:00", EDT) for d in (6, 13, 20, 27)] + [at("2027-10-01", "07:00", EDT),
                                                                            at("2028-08-07", "07:00", EDT)])
# README: PFS: Mondays 08:00 in March, June, September, November, December; January 1, April 1, July 1, October 1.
PFS = ([at(f"2026-12-{d:02}", "08:00", EST) for d in (7, 14, 21, 28)] + [at("2027-01-01", "08:00", EST)]
       + [at("2027-03-01", "08:00", EST), at("2027-03-08", "08:00", EST)]
       + [at(f"2027-03-{d}", "08:00", EDT) for d in (15, 22, 29)] + [at("2027-04-01", "08:00", EDT)]
       + [at(f"2027-06-{d:02}", "08:00", EDT) for d in (7, 14, 21, 28)] + [at("2027-07-01", "08:00", EDT)]
       + [at(f"2027-09-{d:02}", "08:00", EDT) for d in (6, 13, 20, 27)] + [at("2027-10-01", "08:00", EDT)]
       + [at("2027-11-01", "08:00", EDT)] + [at(f"2027-11-{d:02}", "08:00", EST) for d in (8, 15, 22, 29)])
# README: MCD: every Monday 05:00.
MCD = [at(d, "05:00", EST) for d in ("2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28", "2027-01-04")]


@pytest.mark.parametrize(("dataset", "expected"), [("icd10cm", ICD10CM), ("ipps", IPPS), ("msdrg", IPPS), ("pfs", PFS),
                                                   ("mcd", MCD)])
def test_next_fire_times_are_the_readme_calendar(dataset, expected):
    got = fires(dataset, len(expected))
    assert got == expected
    assert all(str(t.tzinfo) == "America/New_York" for t in got)


def test_final_datasets_have_no_schedule():
    """The 2018 GEMs and ICD-9-CM v32 are final releases: run by hand only."""
    cals = schedules.calendars()
    assert cals["gems"].rrule is None and cals["icd9cm"].rrule is None


def test_every_catalog_dataset_has_a_calendar():
    from codeetl.sources.catalog import load_catalog

    assert set(load_catalog()) <= set(schedules.calendars())


def test_each_cron_and_its_rrule_fire_at_the_same_times_for_three_years():
    """Against cronsim (an independent cron implementation, the one Prefect's own Cron schedules use), in the
    calendar's timezone across six daylight saving changes: the RRULE is the cron, exactly."""
    from cronsim import CronSim
    from prefect.server.schemas.schedules import RRuleSchedule

    start, end = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2029, 1, 1, tzinfo=dt.timezone.utc)
    checked = 0
    for cal in schedules.calendars().values():
        for cron in cal.cron:
            tz = ZoneInfo(cal.timezone)
            by_cron, it = [], CronSim(cron, start.astimezone(tz))
            while (t := next(it)) < end:
                by_cron.append(t.astimezone(dt.timezone.utc))
            sched = RRuleSchedule(rrule=rrule_of([cron]), timezone=cal.timezone)
            by_rrule = [t.astimezone(dt.timezone.utc) for t in sched._get_dates_generator(n=10_000, start=start, end=end)]
            assert len(by_cron) >= 3 and by_rrule == by_cron, cron
            checked += 1
    assert checked == sum(len(c.cron) for c in schedules.calendars().values())


def test_rrule_of_translates_lists_ranges_and_both_day_fields():
    assert rrule_of(["0 6 * 2,3 1"]) == "RRULE:FREQ=DAILY;BYDAY=MO;BYMONTH=2,3;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
    assert rrule_of(["30 7 1-3 * *"]) == "RRULE:FREQ=DAILY;BYMONTHDAY=1,2,3;BYHOUR=7;BYMINUTE=30;BYSECOND=0"
    assert rrule_of(["0 6 * * 0,7"]) == "RRULE:FREQ=DAILY;BYDAY=SU;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
    # cron fires when either day field matches: two rules, the set's union
    assert rrule_of(["0 6 1 * 1"]).splitlines() == ["RRULE:FREQ=DAILY;BYMONTHDAY=1;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
                                                    "RRULE:FREQ=DAILY;BYDAY=MO;BYHOUR=6;BYMINUTE=0;BYSECOND=0"]
    assert rrule_of([]) is None


@pytest.mark.parametrize("cron", ["99 99 99 99 99", "0 6 * *", "*/5 6 * * 1", "0 6 * * MON", "0 * * * 1",
                                  "0 6 0 * *", "0 6 * 13 *", "0 6 3-1 * *"])
def test_a_cron_that_cannot_be_translated_exactly_is_refused(cron):
    with pytest.raises(CatalogError, match="cron"):
        rrule_of([cron])


def test_every_scheduled_deployment_gets_three_runs_within_the_scheduler_horizon():
    """serve's server creates runs up to SCHEDULER_HORIZON ahead: every schedule fires at least 3 times in any
    stretch that long (checked from each day of a year), so Prefect always has the next 3 of each."""
    from pydantic import TypeAdapter

    from codeetl.ops.serve import SCHEDULER_HORIZON

    horizon = TypeAdapter(dt.timedelta).validate_python(SCHEDULER_HORIZON)
    for name, cal in schedules.calendars().items():
        if cal.rrule:
            for days in range(0, 366, 7):
                start = START + dt.timedelta(days=days)
                assert fires(name, 3, start)[-1] < start + horizon, (name, start)


def test_the_schedule_covers_each_publication_window_and_effective_day():
    """The calendar `codeetl status` reads (publications) and the schedule agree: a run every week of each month
    a publication usually appears in, and one on the day it takes effect (FY2028's year)."""
    for name, cal in schedules.calendars().items():
        times = fires(name, 400, dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)) if cal.rrule else []
        days = {t.date() for t in times}
        for pub in cal.publications:
            if pub.weekly:
                assert all((t2.date() - t1.date()).days == 7 for t1, t2 in zip(times, times[1:])), name
                continue
            assert dt.date(2027, *pub.effective) in days, (name, pub.name)
            for month in pub.months:
                weeks = {d.isocalendar().week for d in days if (d.year, d.month) == (2027, month)}
                assert len(weeks) >= 4, (name, pub.name, month)


def test_the_readme_table_shows_the_crons_of_schedules_toml():
    rows = dict(re.findall(r"^\| `codeetl-refresh/refresh-(\w+)` \| ([^|]*) \|", README.read_text(), re.M))
    for name, cal in schedules.calendars().items():
        if cal.cron:
            assert re.findall(r"`([^`]+)`", rows[name]) == list(cal.cron), name
