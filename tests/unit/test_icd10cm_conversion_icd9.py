"""Conversion table (tab-separated export and .xlsx) and ICD-9-CM master descriptions on small fixtures written
for these tests."""

from __future__ import annotations

import datetime as dt
import zipfile
from xml.sax.saxutils import escape

import polars as pl
import pytest

from codeetl.sources.catalog import load_catalog
from codeetl.datasets import icd9cm
from codeetl.datasets.icd10cm import conversion
from codeetl.errors import SourceFormatError

TITLE = ('"The National Center for Health Statistics (NCHS) has published an update ... effective October 1, 2024.\n'
         'This FY 2025 Conversion Table ... Unless otherwise specified the code effective date is October 1 of the year listed."\t\t\n')
ROWS = [("M54.50", "2021", "M54.5"), ("M54.51", "2021", "M54.5"), ("U07.1", "04/01/20", "B97.29"),
        ("C56.3", "2021", "C56.1 and C56.2"), ("H36.811", "2023", "H35.20-H35.23"), ("W44.A0XA", "2023", "Codes in Categories T15-T19"),
        ("R11.15", "2019", "K31.89 and a code from R11-"), ("P91.821", "2020", "I63.- and P91.88"), ("M04.8", "2016", "None"),
        ("S20.214A", "2020", "S20.211A; S20.212A; S20.219A"), ("M93.004", "2022", "M93.001 & M93.002")]
EXPECTED = [("M54.5", False, "M54.50", dt.date(2021, 10, 1)), ("M54.5", False, "M54.51", dt.date(2021, 10, 1)),
            ("B97.29", False, "U07.1", dt.date(2020, 4, 1)), ("C56.1", False, "C56.3", dt.date(2021, 10, 1)),
            ("C56.2", False, "C56.3", dt.date(2021, 10, 1)), ("H35.20-H35.23", True, "H36.811", dt.date(2023, 10, 1)),
            ("T15-T19", True, "W44.A0XA", dt.date(2023, 10, 1)), ("K31.89", False, "R11.15", dt.date(2019, 10, 1)),
            ("R11", False, "R11.15", dt.date(2019, 10, 1)), ("I63", False, "P91.821", dt.date(2020, 10, 1)),
            ("P91.88", False, "P91.821", dt.date(2020, 10, 1)), ("S20.211A", False, "S20.214A", dt.date(2020, 10, 1)),
            ("S20.212A", False, "S20.214A", dt.date(2020, 10, 1)), ("S20.219A", False, "S20.214A", dt.date(2020, 10, 1)),
            ("M93.001", False, "M93.004", dt.date(2022, 10, 1)), ("M93.002", False, "M93.004", dt.date(2022, 10, 1))]


def tsv(rows) -> str:
    head = '"Current code assignment"\t"Effective"\t"Previous Code(s) Assignment"\n'
    return TITLE + head + "".join(f'"{a}"\t{b}\t"{c}"\n' for a, b, c in rows)


def test_conversion_table_tsv(tmp_path):
    f = tmp_path / "icd-10-cm-conversion-table-FY2025.csv"
    f.write_text(tsv(ROWS))
    got = conversion.parse_conversion_table(f, "2025")
    assert got.select("code", "is_range", "replaced_by", "effective").rows() == EXPECTED
    assert got.filter(pl.col("replaced_by") == "C56.3")["previous_text"].to_list() == ["C56.1 and C56.2"] * 2
    assert got["line_no"].min() == 4  # the title cell spans lines 1-2, the header is line 3


def _xlsx(path, rows):
    """A minimal workbook as Excel writes it: shared strings, a number for the year, a date serial for 04/01/20."""
    strings = ["Current code assignment", "Effective", "Previous Code(s) Assignment"]
    sheet_rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>Title paragraph</t></is></c></row>',
                  '<row r="2">' + "".join(f'<c r="{c}2" t="s"><v>{i}</v></c>' for i, c in enumerate("ABC")) + "</row>"]
    for n, (a, b, c) in enumerate(rows, 3):
        strings += [a, c]
        eff = "43922" if b == "04/01/20" else b  # Excel date serial of 2020-04-01
        sheet_rows.append(f'<row r="{n}"><c r="A{n}" t="s"><v>{len(strings) - 2}</v></c><c r="B{n}"><v>{eff}</v></c>'
                          f'<c r="C{n}" t="s"><v>{len(strings) - 1}</v></c></row>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/sharedStrings.xml", f"<sst {ns}>" + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>")
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet {ns}><sheetData>{''.join(sheet_rows)}</sheetData></worksheet>")


def test_conversion_table_xlsx(tmp_path):
    f = tmp_path / "icd-10-cm-conversion-table-FY2025.xlsx"
    _xlsx(f, ROWS)
    got = conversion.parse_conversion_table(f, "2025")
    assert got.select("code", "is_range", "replaced_by", "effective").rows() == EXPECTED


def test_conversion_table_unknown_wording_names_the_line(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text(tsv(ROWS[:2] + [("X00.1", "2024", "see the index")]))
    with pytest.raises(SourceFormatError, match=r"t\.csv, line 6: expected previous codes"):
        conversion.parse_conversion_table(f, "2025")


# --------------------------------------------------------------------------------------------------- ICD-9-CM

def _icd9_files(tmp_path, long_dx: str):
    files = {"long_dx": ("CMS32_DESC_LONG_DX.txt", long_dx),
             "short_dx": ("CMS32_DESC_SHORT_DX.txt", "0010  Cholera d/t vib cholerae\n38600 Meniere's disease NOS\n"
                          "72283 Postlaminect synd-lumbar\nE8809 Fall on stair/step NEC\nV454  Arthrodesis status\n"),
             "long_sg": ("CMS32_DESC_LONG_SG.txt", "019 Other operations on skull, brain, and cerebral meninges\n"
                         "8108 Lumbar and lumbosacral fusion of the anterior column, posterior technique\n"),
             "short_sg": ("CMS32_DESC_SHORT_SG.txt", "019 Other cranial operations\n8108 Lumb/lmbsac fus ant/post\n")}
    out = {}
    for role, (name, text) in files.items():
        (tmp_path / name).write_bytes(text.encode("latin-1"))
        out[role] = tmp_path / name
    return out


LONG_DX = ("0010  Cholera due to vibrio cholerae\n38600 Ménière's disease, unspecified\n72283 Postlaminectomy syndrome, lumbar region\n"
           "E8809 Accidental fall on or from other stairs or steps\nV454  Arthrodesis status\n")


def test_icd9cm_fixture(tmp_path):
    rel = load_catalog()["icd9cm"].release("v32")
    got = icd9cm.parse_release(rel, _icd9_files(tmp_path, LONG_DX))["icd9cm_codes"]
    assert got.columns == ["release", "code", "code_nodot", "kind", "description", "short_description"]
    assert got.select("code", "kind", "description", "short_description").rows() == [
        ("001.0", "diagnosis", "Cholera due to vibrio cholerae", "Cholera d/t vib cholerae"),
        ("386.00", "diagnosis", "Ménière's disease, unspecified", "Meniere's disease NOS"),
        ("722.83", "diagnosis", "Postlaminectomy syndrome, lumbar region", "Postlaminect synd-lumbar"),
        ("E880.9", "diagnosis", "Accidental fall on or from other stairs or steps", "Fall on stair/step NEC"),
        ("V45.4", "diagnosis", "Arthrodesis status", "Arthrodesis status"),
        ("01.9", "procedure", "Other operations on skull, brain, and cerebral meninges", "Other cranial operations"),
        ("81.08", "procedure", "Lumbar and lumbosacral fusion of the anterior column, posterior technique", "Lumb/lmbsac fus ant/post"),
    ]
    assert set(got["release"]) == {"v32"}


def test_icd9cm_long_and_short_must_list_the_same_codes(tmp_path):
    rel = load_catalog()["icd9cm"].release("v32")
    with pytest.raises(SourceFormatError, match=r"CMS32_DESC_SHORT_DX\.txt, line 6: expected every code of CMS32_DESC_LONG_DX\.txt \(1 missing\); found '2500'"):
        icd9cm.parse_release(rel, _icd9_files(tmp_path, LONG_DX + "2500  Diabetes mellitus without mention of complication\n"))
    with pytest.raises(SourceFormatError, match=r"CMS32_DESC_LONG_DX\.txt, line 2: expected an ICD-9-CM diagnosis code"):
        icd9cm.parse_release(rel, _icd9_files(tmp_path, LONG_DX.replace("38600", "3860X")))
