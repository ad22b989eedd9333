"""Quality gates: SQL checks a new warehouse must pass before it is published.

Each dataset keeps its gates beside its code, in ``codeetl/datasets/<dataset>/gates.sql``; gates on the
whole warehouse are in ``codeetl/sql/gates.sql``. A gates file is a list of blocks::

    -- gate: icd10cm.chapters_disjoint          (unique name: <dataset>.<what>)
    -- checks: no two chapters of a release have overlapping code ranges
    -- file: tabular, icd10cm:codes            (catalog roles of the source files the gate concerns;
                                                "dataset:role" for another dataset's, "none" for none)
    SELECT ...;                                 (one query returning the offending rows)

A gate passes when its query returns no row. Other ``--`` lines are comments. When a gate fails, its
result names the gate, what it checks, the source files concerned (of the offending releases, when the
rows have a ``release`` column) and the first few offending rows; a failed gate keeps the previous
warehouse (:func:`codeetl.build.pipeline.build_warehouse`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import asdict, dataclass, field
from importlib import resources

import duckdb

from codeetl.errors import WarehouseError

EXAMPLES = 5  # offending rows shown per failed gate
_HEADER = re.compile(r"^--\s*(gate|checks|file):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Gate:
    name: str
    checks: str
    roles: tuple[str, ...]  # "dataset:role"
    sql: str
    source: str  # the gates file it came from


@dataclass
class GateResult:
    name: str
    checks: str
    passed: bool
    files: list[str] = field(default_factory=list)  # source file names concerned
    examples: list[dict] = field(default_factory=list)  # up to EXAMPLES offending rows
    more: bool = False  # more offending rows than shown
    error: str | None = None  # the query itself failed

    def to_dict(self) -> dict:
        """The result as plain JSON-ready data."""
        return asdict(self)


class GateFailure(WarehouseError):
    """A new warehouse failed one or more quality gates; ``results`` holds every gate's result."""

    def __init__(self, results: list[GateResult]):
        self.results = results
        super().__init__(failure_message(results))


def parse_gates(text: str, dataset: str, source: str) -> list[Gate]:
    """The gates of one gates file; raises WarehouseError naming the file and line of a malformed block."""
    gates: list[Gate] = []
    head: dict[str, str] = {}
    body: list[str] = []
    start = 0

    def close() -> None:
        """Close the block being read, if any, into a Gate."""
        if not head:
            return
        missing = [k for k in ("gate", "checks", "file") if k not in head]
        sql = "\n".join(body).strip().rstrip(";").strip()
        if missing or not sql:
            what = f"the header line(s) {', '.join(missing)}" if missing else "a SELECT after the header"
            raise WarehouseError(f"{source}, line {start}: gate {head.get('gate', '?')!r} lacks {what}")
        roles = tuple(r if ":" in r else f"{dataset}:{r}" for r in
                      (x.strip() for x in head["file"].split(",")) if r and r != "none")
        gates.append(Gate(head["gate"], head["checks"], roles, sql, source))

    for no, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m and m.group(1) == "gate":
            close()
            head, body, start = {"gate": m.group(2)}, [], no
        elif m and head and not body:
            head[m.group(1)] = m.group(2)
        elif head and not line.lstrip().startswith("--"):
            body.append(line)
    close()
    return gates


def load_gates() -> list[Gate]:
    """Every gate: the whole-warehouse ones, then each dataset's, by dataset name."""
    from codeetl.datasets import discover

    base = resources.files("codeetl")
    out = parse_gates(base.joinpath("sql", "gates.sql").read_text(encoding="utf-8"), "warehouse", "sql/gates.sql")
    for folder in discover().values():
        for name in folder.sql_files("gates"):
            text = folder.folder.joinpath(name).read_text(encoding="utf-8")
            out += parse_gates(text, folder.name, f"datasets/{folder.name}/{name}")
    names = [g.name for g in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise WarehouseError(f"quality gates named twice: {', '.join(dup)}")
    return out


def _plain(value):
    if isinstance(value, (decimal.Decimal, dt.date, dt.datetime)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _files(con: duckdb.DuckDBPyConnection, gate: Gate, releases: set[str], roles: set[str]) -> list[str]:
    """Source file names of the gate's roles (of the offending rows' roles, when they have a ``role``
    column): of the offending releases when those match, else of all."""
    out: list[str] = []
    for dr in gate.roles:
        dataset, role = dr.split(":", 1)
        if roles and role not in roles:
            continue
        rows = con.execute("SELECT DISTINCT release, file_name FROM source_files WHERE dataset = ? AND role = ? "
                           "ORDER BY 1, 2", [dataset, role]).fetchall()
        hit = [r for r in rows if r[0] in releases] or rows
        out += [f"{name} ({dataset} {rel})" for rel, name in hit if f"{name} ({dataset} {rel})" not in out]
    return out


def run_gate(con: duckdb.DuckDBPyConnection, gate: Gate, limit: int = EXAMPLES) -> GateResult:
    """Run one gate; returns its result (a query that fails is a failed gate with ``error`` set)."""
    try:
        cur = con.execute(f"SELECT * FROM ({gate.sql}) AS offending LIMIT {int(limit) + 1}")
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
    except duckdb.Error as e:
        msg = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        return GateResult(gate.name, gate.checks, False, error=f"{e.__class__.__name__}: {msg}")
    examples = [{c: _plain(v) for c, v in zip(cols, r)} for r in rows[:limit]]
    releases = {str(e["release"]) for e in examples if e.get("release") is not None}
    roles = {str(e["role"]) for e in examples if e.get("role") is not None}
    files = _files(con, gate, releases, roles) if gate.roles else []
    return GateResult(gate.name, gate.checks, not rows, files, examples, len(rows) > limit)


def run_gates(con: duckdb.DuckDBPyConnection, gates: list[Gate] | None = None,
              limit: int = EXAMPLES) -> list[GateResult]:
    """Run every gate (default: :func:`load_gates`) on a built warehouse; returns all results, passed or not."""
    return [run_gate(con, g, limit) for g in (load_gates() if gates is None else gates)]


def failure_message(results: list[GateResult]) -> str:
    """The failed gates as readable lines: name, what it checks, files, and the offending rows shown."""
    failed = [r for r in results if not r.passed]
    lines = [f"the new warehouse failed {len(failed)} of {len(results)} quality gates (the previous one is kept):"]
    for r in failed:
        lines.append(f"  gate {r.name}: {r.checks}")
        if r.files:
            lines.append(f"    file: {', '.join(r.files)}")
        if r.error:
            lines.append(f"    the check itself failed: {r.error}")
        for e in r.examples:
            row = ", ".join(f"{k}={_show(v)}" for k, v in e.items())
            lines.append(f"    offending row: {row}")
        if r.more:
            lines.append("    (more offending rows)")
    return "\n".join(lines)


def _show(value, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


GATES_START = "<!-- gates:start (generated from the gates.sql files; test_fetch_bounds checks it) -->"
GATES_END = "<!-- gates:end -->"


def markdown(all_gates: list[Gate] | None = None) -> str:
    """The gates as a Markdown table (gate | checks | file | defined in), for the README."""
    rows = ["| gate | checks | file | defined in |", "|---|---|---|---|"]
    for g in load_gates() if all_gates is None else all_gates:
        files = ", ".join(r.replace(":", " ") for r in g.roles) or "—"
        rows.append(f"| `{g.name}` | {g.checks} | {files} | `src/codeetl/{g.source}` |")
    return "\n".join(rows)
