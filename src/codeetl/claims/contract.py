"""The claims contract seen from the claim side: the exported files an engine reads, and the claim SQL of
``sql/claims/*.sql`` rendered for one file's columns. Both engines (DuckDB here in ``claims``, Spark in
``codeetl.spark``) run the text these functions return, so they cannot drift: an engine adapter only makes the
input views and writes the output.

No engine is imported here (the Spark driver needs none of DuckDB's objects).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from codeetl.build.named_sql import named_statements
from codeetl.errors import CodeEtlError, command

CONTRACT_TABLES = ("claim_icd10cm_period", "claim_icd10cm_coverage", "claim_icd10cm_interval",
                   "claim_icd10cm_reason", "claim_icd10cm_category", "claim_msdrg_version", "claim_msdrg_dx",
                   "claim_msdrg_cc", "claim_msdrg_cc_exclusion")
"""The exported tables of ``sql/contract/claims.sql``; each is ``<folder>/<name>/<name>.parquet``."""

VALIDATE_TABLES = CONTRACT_TABLES[:4]
"""What ``validate`` reads of them."""

ROW, DATE, DAY = "__row", "__date", "__day"
"""The columns an adapter adds to ``claim_source``: the 1-based row number, the date column as text and its day."""

REPORT_COLUMNS = ("row_number", "column", "code", "date", "reason", "details")
"""The columns of validate's report, in order."""

PARQUET_SUFFIXES = (".parquet", ".pq")


class BadInput(CodeEtlError):
    """The input cannot be read, or lacks a column asked for, or the output cannot be written (exit code 2)."""


def contract_file(folder: str | Path, name: str) -> str:
    """Where the exported contract table ``name`` lives under ``folder`` (a local path or any URI):
    ``<folder>/<name>/<name>.parquet``, the layout of the warehouse's parquet export."""
    return f"{str(folder).rstrip('/')}/{name}/{name}.parquet"


def require_contract(folder: str | Path, names=CONTRACT_TABLES) -> None:
    """BadInput naming the contract files missing from a local ``folder``, and what to run (a URI is not
    checked here: its engine finds out)."""
    if "://" in str(folder):
        return
    missing = [n for n in names if not Path(contract_file(folder, n)).is_file()]
    if missing:
        raise BadInput(f"{folder} lacks the claims contract files ({', '.join(missing)}): the warehouse was built "
                       f"by an older codeetl; run `{command('refresh')}`")


def quote(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (both engines; Spark runs with doubleQuotedIdentifiers)."""
    return '"' + name.replace('"', '""') + '"'


def quote_text(text: str) -> str:
    """``text`` as a SQL string expression both engines read alike: a single-quoted literal, quotes doubled,
    a backslash (an escape to Spark, not to DuckDB) as chr(92)."""
    return "(" + " || chr(92) || ".join("'" + part.replace("'", "''") + "'" for part in text.split("\\")) + ")"


def is_date_type(type_name: str) -> bool:
    """True for a DATE column (DATE in DuckDB's spelling, date in Spark's): read as its day. Any other type,
    a TIMESTAMP too, is read as the text it prints (a time after the day is then an unreadable date, as in a
    CSV file: dates are YYYY-MM-DD text or DATE values only)."""
    return type_name.strip().upper() == "DATE"


def date_text(column: str, type_name: str) -> str:
    """The SQL giving a date column as text for ``claim_source."__date"``: a DATE column as its day
    (YYYY-MM-DD; a day before year 1 or after 9999, which the engines print differently, as the words
    'before 0001-01-01' / 'after 9999-12-31': an unreadable date), anything else cast to text as it is."""
    q = quote(column)
    if not is_date_type(type_name):
        return f"CAST({q} AS STRING)"
    return (f"CASE WHEN {q} < DATE '0001-01-01' THEN 'before 0001-01-01' WHEN {q} > DATE '9999-12-31' "
            f"THEN 'after 9999-12-31' ELSE CAST({q} AS STRING) END")


def day_value(column: str, type_name: str) -> str:
    """The SQL giving a date column's day for ``claim_source."__day"``: a DATE column as it is (NULL outside
    0001-01-01..9999-12-31, as :func:`date_text` marks those unreadable); anything else by the rule ``day`` of
    ``sql/claims/validate.sql`` on its text trimmed (an empty cell: NULL)."""
    q = quote(column)
    if is_date_type(type_name):
        return f"CASE WHEN {q} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31' THEN {q} END"
    return render("{day:nullif(trim(CAST(" + q + " AS STRING)), '')}")


def resolve(columns: list[str], wanted: list[str], where: str) -> list[str]:
    """The file's names for ``wanted`` (exact match first, else a unique case-insensitive one). BadInput naming
    the file's columns when one is missing."""
    out = []
    for w in wanted:
        if w in columns:
            out.append(w)
            continue
        folded = [c for c in columns if c.lower() == w.lower()]
        if len(folded) != 1:
            raise BadInput(f"{where} has no column {w!r}; its columns: {', '.join(columns)}")
        out.append(folded[0])
    return out


_FIELD = re.compile(r"\{(\w+)(?::([^{}]+))?\}")


def render(text: str, rules: dict[str, str] | None = None, **fields: str) -> str:
    """Fill a claim SQL text: ``{name}`` from ``fields``; ``{rule:expr}`` with a rule of
    ``sql/claims/validate.sql`` (key, day) applied to ``expr``."""
    rules = rules if rules is not None else _rules()

    def _one(m: re.Match) -> str:
        name, arg = m.group(1), m.group(2)
        if arg is not None:
            return "(" + rules[name].replace("{x}", arg) + ")"
        return fields[name]

    return _FIELD.sub(_one, text)


def _rules() -> dict[str, str]:
    sql = named_statements("claims/validate.sql")
    return {"key": _strip_comments(sql["key"]), "day": _strip_comments(sql["day"])}


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip()


@dataclass(frozen=True)
class ValidateSql:
    """The statements of one validation, rendered for its code columns (every engine runs these)."""

    written: str
    left_over: str
    counts: str
    cell_counts: str
    bad: str
    invalid: str
    report: str
    summary: str
    invalid_rows: str


def validate_sql(code_columns: list[str], by_column: bool = True) -> ValidateSql:
    """The claim SQL of ``validate`` for the code columns of ``claim_source`` (names as in the file); its cells
    read column by column (``by_column``: parquet, which reads a column on its own), else each row once and
    unpivoted (a text file, parsed once)."""
    sql = named_statements("claims/validate.sql")
    if by_column:
        cells = "\nUNION ALL\n".join(render(_strip_comments(sql["column_cells"]), column=quote(c), name=quote_text(c))
                                      for c in code_columns)
    else:
        cells = render(_strip_comments(sql["cells_unpivot"]), code_columns=", ".join(quote(c) for c in code_columns))
    fields = {"code_columns": ", ".join(quote(c) for c in code_columns), "cells": cells,
              "count_cells": " + ".join(f"count({quote(c)})" for c in code_columns) or "0",
              "nonempty": " + ".join(f"CASE WHEN trim({quote(c)}) <> '' THEN 1 ELSE 0 END" for c in code_columns)}
    return ValidateSql(**{name: render(sql[name], **fields) for name in ValidateSql.__dataclass_fields__})


@dataclass(frozen=True)
class AnnotatePlan:
    """One annotation: its SQL, the columns it adds, and the contract tables it reads."""

    sql: str
    added: list[str]


def annotate_sql(columns: list[str], code_columns: list[str], principal: str | None) -> AnnotatePlan:
    """The claim SQL of ``annotate``: every input column (``columns``, in order) kept, and per code column
    (``code_columns``; the principal is one of them) the annotations of ``sql/claims/annotate.sql``.
    BadInput when an added column's name is taken by an input column."""
    sql = named_statements("claims/annotate.sql")
    pi = code_columns.index(principal) if principal else None
    p = f'k."__k{pi}"' if principal else "CAST(NULL AS STRING)"
    keys, annotations, joins, added = [], [], [], ["row_number", "icd10cm_release", "msdrg_version"]
    for i, c in enumerate(code_columns):
        keys.append(f',\n        {render("{key:CAST(" + quote(c) + " AS STRING)}")} AS "__k{i}"')
        parts = ["code"] + (["principal"] if i == pi else ["secondary"])
        for part in parts:
            names = re.findall(r"\{c_(\w+)\}", sql[f"{part}_annotations"])
            added += [f"{c}_{n}" for n in names]
            cols = {f"c_{n}": quote(f"{c}_{n}") for n in names}
            annotations.append(",\n" + render(sql[f"{part}_annotations"], i=str(i), p=p, **cols))
            joins.append(render(sql[f"{part}_joins"], i=str(i), p=p))
    taken = sorted(set(added) & set(columns)) or sorted({n for n in added if added.count(n) > 1})
    if taken:
        raise BadInput(f"the claims already have a column named {taken[0]!r}, which annotate adds")
    aliases = ["p", "v"] + [m for j in joins for m in re.findall(r"JOIN \w+ AS (\w+)", j)]
    text = render(sql["annotate"], columns=",\n    ".join(f"k.{quote(c)}" for c in columns), keys="".join(keys),
                  annotations="".join(annotations), joins="\n".join(joins), broadcast=", ".join(aliases))
    return AnnotatePlan(text, added)


def default_out(path: str, kind: str = "invalid", suffix: str = ".csv") -> str:
    """Where an output goes by default: beside the input (a file, a folder or a glob; local or a URI),
    ``<name>.<kind><suffix>`` — e.g. claims.csv -> claims.invalid.csv."""
    base = path.rstrip("/")
    head, _, name = base.rpartition("/")
    if re.search(r"[*?\[\]{}]", name):  # a glob: data/*.csv -> data/claims.invalid.csv
        name = "claims"
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix else name
    return f"{head}/{stem}.{kind}{suffix}" if head else f"{stem}.{kind}{suffix}"
