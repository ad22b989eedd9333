"""The command line as an operator uses it: ``python3 run.py …`` from a folder of their own, on a fresh HOME.

The first Quickstart refresh (a fresh HOME: Prefect creates its database; a fresh data folder) prints its summary
like every later run, its output is not wrapped when it goes to a file, relative paths are the caller's, hints
name the command that was typed, ``status`` and ``releases`` fit an 80-column terminal (a real pseudo-terminal),
``--wide`` and ``--json`` carry the full hashes and URLs, ``--date`` is ``--as-of``, and the DuckDB binding never
prints ``nanobind: leaked …``. Every command runs in a process of its own, as a user starts it.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import tomllib
from pathlib import Path

import pytest

from _shared import CMS, REPO, SEED
from proctree import kill_marked, user_env

pytestmark = [pytest.mark.slow, pytest.mark.prefect]
RUN_PY = REPO / "run.py"
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07)")  # colours, cursor moves, titles


def run_py(args: list[str], env: dict, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python3 <repo>/run.py <args>`` from `cwd`, stdout and stderr captured (not a terminal)."""
    return subprocess.run([sys.executable, str(RUN_PY), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def in_terminal(args: list[str], env: dict, cwd: Path, columns: int = 80) -> str:
    """What ``python3 run.py <args>`` shows on a terminal `columns` wide (a pseudo-terminal), colours removed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")} | {"TERM": "xterm-256color"}
    p = subprocess.Popen([sys.executable, str(RUN_PY), *args], cwd=cwd, env=env, stdin=follower, stdout=follower,
                         stderr=follower, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    p.wait(timeout=300)
    os.close(leader)
    return ANSI.sub("", b"".join(chunks).decode("utf-8", "replace")).replace("\r\n", "\n")


def catalog_urls() -> set[str]:
    from codeetl.sources.catalog import load_catalog

    return {f.url for ds in load_catalog().values() for r in ds.releases for f in r.files}


def mirror_releases() -> set[str]:
    """dataset/release of every release folder of the mirror (what a refresh from it can load)."""
    return {f"{d.name}/{r.name}" for d in CMS.iterdir() if d.is_dir() for r in d.iterdir() if r.is_dir()}


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    """A fresh HOME, an operator's own folder (not the checkout) and the environment of their shell; whatever
    the module started is killed at its end (after a failure)."""
    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("work")
    env, marker = user_env(home)
    yield env, work
    kill_marked(marker)


@pytest.fixture(scope="module")
def first_run(operator):
    """The Quickstart refresh, the first on this HOME, from the operator's folder with relative paths:
    ``python3 run.py refresh --mirror <relative ../shared/cms> --data-dir data``."""
    env, work = operator
    mirror = os.path.relpath(CMS, work)
    r = run_py(["refresh", "--mirror", mirror, "--data-dir", "data"], env, work, timeout=2400)
    assert r.returncode == 0, r.stderr[-4000:]
    return r, work / "data"


def test_the_first_refresh_prints_its_summary(first_run):
    r, data = first_run
    assert (data / "warehouse" / "codeetl.duckdb").exists()  # --data-dir data: the operator's folder, not the checkout
    database = os.readlink(data / "warehouse" / "current")
    assert re.search(rf"^\s*Published \S*{re.escape(database)}/codeetl\.duckdb \(build \S+\)\s*$", r.stdout, re.M), r.stdout
    assert re.search(r"^quality gates (\d+) of \1 passed$", r.stdout, re.M)
    loaded = set(re.findall(r"^loaded (\S+) \(parsed\)$", r.stdout, re.M))
    catalog = {f"{ds.dataset}/{rel.release}" for ds in _catalog().values() for rel in ds.releases}
    assert loaded == mirror_releases() & catalog  # every release the mirror has, read from its folders
    assert re.search(r"^changed releases added: ", r.stdout, re.M)


def _catalog():
    from codeetl.sources.catalog import load_catalog

    return load_catalog()


def test_skipped_releases_are_one_line_per_dataset(first_run):
    r, _ = first_run
    missing: dict[str, list[str]] = {}
    for ds in _catalog().values():
        for rel in ds.releases:
            if f"{ds.dataset}/{rel.release}" not in mirror_releases():
                missing.setdefault(ds.dataset, []).append(rel.release)
    assert missing  # the mirror does not have every release of the catalog
    for ds, releases in missing.items():
        line = f"{ds}: {', '.join(releases)} (not in the mirror)"
        assert r.stdout.count(f"skipped {ds}:") == 1 and f"skipped {line}\n" in r.stdout  # the summary
        assert r.stderr.count(f"skipped {ds}:") == 1 and f"warning: skipped {line}\n" in r.stderr  # during the run


def test_output_to_a_file_is_not_wrapped(first_run):
    """Every line is a whole message (a wrapped one would go on in a line without a message's start), and every
    URL printed is whole (a catalog URL)."""
    r, _ = first_run
    starts = ("Published ", "quality gates ", "loaded ", "skipped ", "changed ", "┏", "┃", "┡", "│", "└")
    assert r.stdout.strip() and [line for line in r.stdout.splitlines() if not line.startswith(starts)] == []
    assert [line for line in r.stderr.splitlines() if not line.startswith(("Refreshing into ", "· "))] == []
    assert re.search(r"^· starting Prefect's .* \.\.\.$", r.stderr, re.M)  # 103 characters, one line
    text = r.stdout + r.stderr
    urls = {u.rstrip(",)") for u in re.findall(r"https?://\S+", text)}
    assert urls and urls <= catalog_urls()
    assert "nanobind:" not in text


def test_the_first_json_refresh_prints_its_document(tmp_path):
    """--json on a fresh HOME and data folder: stdout is the JSON document and nothing else."""
    env, _ = user_env(tmp_path / "home")
    r = run_py(["refresh", "--mirror", str(CMS), "--dataset", "icd9cm", "--data-dir", str(tmp_path / "data"),
                "--json"], env, tmp_path, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads(r.stdout)
    assert (doc["ok"], doc["changed"], doc["releases_added"]) == (True, True, ["icd9cm/v32"])  # the mirror's folder


def test_status_fits_80_columns_and_says_the_release_in_effect_is_derived(first_run, operator):
    """On 2026-11-30 ICD-10-CM FY2027 is in effect; the mirror has only its order addenda, so it is derived."""
    env, work = operator
    shown = in_terminal(["status", "--data-dir", "data", "--date", "2026-11-30"], env, work)
    lines = shown.splitlines()
    assert max(map(len, lines)) <= 80, shown
    assert re.search(r"^icd10cm +2027 \(derived\) +yes ", shown, re.M), shown
    assert re.search(r"^derived icd10cm 2027: previous release \S+ \+ FY2027 order addenda", shown, re.M), shown
    st = json.loads(run_py(["status", "--data-dir", "data", "--as-of", "2026-11-30", "--json"], env, work).stdout)
    icd = next(d for d in st["datasets"] if d["dataset"] == "icd10cm")
    assert "addenda" in icd["in_effect"]["derivation"]
    assert all(d["in_effect"]["derivation"] is None for d in st["datasets"] if d["in_effect"] and d["dataset"] != "icd10cm")


def test_releases_fit_80_columns_and_wide_and_json_have_everything(first_run, operator):
    env, work = operator
    shown = in_terminal(["releases", "--data-dir", "data"], env, work)
    assert max(map(len, shown.splitlines())) <= 80, shown
    page = json.loads(run_py(["releases", "--data-dir", "data", "--json"], env, work).stdout)
    downloads = [(r["dataset"], r["release"], d) for r in page["releases"] for d in r["downloads"]]
    assert downloads
    for ds, rid, d in downloads:
        assert d["sha256"][:12] in shown and d["sha256"] not in shown
    wide = run_py(["releases", "--data-dir", "data", "--wide"], env, work).stdout
    lines = wide.splitlines()
    for ds, rid, d in downloads:  # one line per download, whole, not wrapped: its release, hash, URL and source
        assert any(re.match(rf"{ds} +{re.escape(rid)} ", line) and d["sha256"] in line and d["url"] in line
                   and d["fetched_from"] in line for line in lines), (ds, rid, d["url"])


def test_date_is_as_of(first_run, operator):
    env, work = operator
    pages = [run_py(["code", "M96.1", "--data-dir", "data", "--json", option, "2026-05-01"], env, work)
             for option in ("--as-of", "--date")]
    assert pages[0].returncode == 0 and pages[0].stdout == pages[1].stdout
    assert json.loads(pages[1].stdout)["release"]["release"] == "2026-04"  # the April 1, 2026 update


def test_relative_paths_are_the_callers(first_run, operator):
    """validate's claims file and --out, and check's page, relative to the operator's folder."""
    env, work = operator
    (work / "claims.csv").write_text("dx,service_date\nM96.1,2026-05-01\nM96.9,2026-05-01\n")
    r = run_py(["validate", "claims.csv", "--code-column", "dx", "--date-column", "service_date", "--out",
                "bad.csv", "--data-dir", "data"], env, work)
    assert r.returncode == 1 and (work / "bad.csv").is_file(), r.stderr  # M96.9 is not a code
    assert "M96.9" in (work / "bad.csv").read_text()
    r = run_py(["check", os.path.relpath(SEED, work), "--data-dir", "data", "--json"], env, work)
    assert r.returncode in (0, 1) and json.loads(r.stdout), r.stderr


def test_hints_name_the_command_typed(operator, tmp_path):
    env, work = operator
    r = run_py(["code", "M96.1", "--data-dir", str(tmp_path / "none")], env, work)
    assert r.returncode == 1
    assert f"run `python3 {RUN_PY} refresh` first" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "run.py", "code", "M96.1", "--data-dir", str(tmp_path / "none")], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=300)
    assert "run `python3 run.py refresh` first" in r.stderr, r.stderr


def test_the_default_data_folder_is_the_checkouts(operator):
    """Without --data-dir or CODEETL_DATA, run.py uses data/ beside itself, from any folder."""
    env, work = operator
    r = run_py(["code", "M96.1", "--json", "--as-of", "2026-05-01"], env, work)
    database = REPO / "data" / "warehouse" / "codeetl.duckdb"
    if database.exists():
        assert r.returncode == 0 and json.loads(r.stdout)["code"] == "M96.1"
    else:
        assert r.returncode == 1 and f"no warehouse at {database}" in r.stderr, r.stderr


def test_help_and_version(operator):
    env, work = operator
    r = run_py(["--help"], env, work)
    assert r.returncode == 0
    from codeetl.cli import app

    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert re.search(rf"^│ {name} ", r.stdout, re.M), name
    assert r.stdout.rstrip().endswith("reaches the command itself and nothing is left running. Standard library only.")
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    r = run_py(["--version"], env, work)
    assert r.returncode == 0 and r.stdout.startswith(f"codeetl {version} (DuckDB ")


def test_no_nanobind_leak_lines_after_a_failed_refresh(tmp_path):
    """A refresh that fails its quality gates in the process that runs the flow (as a run of `codeetl serve`'s
    deployments does, and `codeetl refresh` where there is no worker process) ends without the binding's
    ``nanobind: leaked …`` lines. GEM files of blank lines fail gems.files_not_empty; the catalog copy drops
    their pins (a pin would refuse them before the build)."""
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    packaged = (REPO / "src/codeetl/datasets/gems/catalog.toml").read_text()
    (catalog / "gems.toml").write_text("\n".join(l for l in packaged.splitlines() if not l.strip().startswith("sha256")))
    for f in (CMS / "gems" / "2018").iterdir():
        (tmp_path / "mirror" / "gems" / "2018").mkdir(parents=True, exist_ok=True)
        (tmp_path / "mirror" / "gems" / "2018" / f.name).write_text("\n\n")
    env, _ = user_env(tmp_path / "home", CODEETL_REFRESH_WORKER="1")
    r = run_py(["refresh", "--catalog", str(catalog), "--mirror", str(tmp_path / "mirror"), "--dataset", "gems",
                "--data-dir", str(tmp_path / "data")], env, tmp_path, timeout=1200)
    assert r.returncode == 1 and "gate gems.files_not_empty" in r.stderr, r.stderr[-3000:]
    assert "nanobind:" not in r.stdout + r.stderr, r.stderr[-3000:]
