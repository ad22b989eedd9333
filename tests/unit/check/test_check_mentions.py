"""Spotting codes, amounts and dates by their shape."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from codeetl.check.mentions import (
    drg_numbers,
    icd9_mentions,
    icd9_range,
    icd10_mentions,
    money,
    parse_date,
    stated_date,
)


def codes(text, page=None):
    return [(m.code, m.form) for m in icd10_mentions(text, page)]


def test_icd10_codes_categories_and_ranges():
    t = "check the M96 Excludes2 list: devices (T84.-), osteoporosis (M80), fracture (M97.-), implants (Z96-Z97)"
    assert codes(t, "M96.1") == [("M96", "category"), ("T84", "category"), ("M80", "category"), ("M97", "category"),
                                 ("Z96-Z97", "range")]
    assert codes("consider M51.16/M51.26 instead; gestational (O24.4-)") == [("M51.16", "code"), ("M51.26", "code"),
                                                                              ("O24.4", "category")]
    assert codes("S72.001A and E11.65.") == [("S72.001A", "code"), ("E11.65", "code")]


def test_things_shaped_like_codes_that_are_not():
    assert codes("pain at T12-L1, low vitamin B12 levels, MS-DRG V43.0, HbA1c, A1C of 9") == []
    assert codes("the T84 category applies") == [("T84", "category")]


def test_icd9_codes_and_ranges():
    ranges, singles = icd9_mentions("codes (722.80–722.83) and 722.81 (cervical), not $898.15 or $1,065.49")
    assert ranges == [("722.80", "722.83", 7, 20)]
    assert [c for c, _, _ in singles] == ["722.81"]
    assert icd9_range("722.80", "722.83") == ["722.80", "722.81", "722.82", "722.83"]
    assert icd9_range("722.80", "723.1") == []


def test_money_and_drg_numbers():
    assert money("63047 $1,065.49 or $40") == [(Decimal("1065.49"), 6, 15), (Decimal("40"), 19, 22)]
    assert drg_numbers("551/552") == ["551", "552"]
    assert drg_numbers("637-639") == ["637", "638", "639"]
    assert drg_numbers("535, 536 and 533") == ["535", "536", "533"]


def test_dates():
    assert parse_date("May 8, 2026")[0] == dt.date(2026, 5, 8)
    assert parse_date("8 May 2026")[0] == dt.date(2026, 5, 8)
    assert parse_date("on 05/08/2026")[0] == dt.date(2026, 5, 8)
    assert parse_date("2026-02-30") is None
    assert stated_date("Verified May 8, 2026 · 6 sources ↓")[1:] == (dt.date(2026, 5, 8), "Verified May 8, 2026")
    assert stated_date("*Last reviewed: 2026-04-15 by the desk*")[1] == dt.date(2026, 4, 15)
    assert stated_date("Released in May 8, 2026") is None
