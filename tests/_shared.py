"""Where the real CMS/CDC files are (../shared/cms beside the repository, never copied into it), and what tests
of the terminal pages share."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CMS = SHARED / "cms"
SEED = SHARED / "seed" / "icd10cm-M96.1-code-page.txt"
MIRROR_MISSING = f"needs the real CMS/CDC files and the seed page in {SHARED} (../shared beside the repository)"


def _mirror_present() -> bool:
    return CMS.is_dir() and SEED.is_file()


def _needs_mirror_mark():
    import pytest

    return pytest.mark.skipif(not _mirror_present(), reason=MIRROR_MISSING)


needs_mirror = _needs_mirror_mark()
"""The mark of every test module that reads ../shared (``pytestmark = needs_mirror``): without it, each of its
tests is skipped with the same reason, never an error (fixtures that need it call conftest.needs_mirror())."""

TABULAR_2026_04 = CMS / "icd10cm" / "2026-04" / "icd10cm-tabular-April-1-2026.xml"
CODES_2024 = CMS / "icd10cm" / "2024" / "icd10cm-codes-2024.txt"


def apply_dataset_sql(con, dataset: str, kind: str = "tables") -> None:
    """Run one dataset folder's tables.sql / views.sql on a connection, as a build does."""
    from codeetl.datasets import dataset as folder

    con.execute(folder(dataset).sql(kind))


def apply_schema(con, kind: str = "tables") -> None:
    """Run every script of one kind (tables, views) in build order."""
    from codeetl.build.warehouse_sql import schema_scripts

    for _, text in schema_scripts(kind):
        con.execute(text)


NOT_IN_EFFECT = "That release is not in effect on the requested date; it is the latest one loaded before it."
"""What a terminal page prints under a section whose release is not in effect on the day asked for."""


def flat(text: str) -> str:
    """Terminal output as one line: rich wraps long lines (inside panels too) at the console width."""
    return " ".join(text.replace("│", " ").split())


FIXTURE_MIRROR = REPO / "tests" / "fixtures" / "mirror"


def build_and_publish(root: Path, mirror: Path = FIXTURE_MIRROR, datasets=("icd10cm",), releases=("2024",)):
    """The pipeline functions a refresh calls (fetch, parse, build, publish), in order, without the flow: for the
    tests of those functions themselves (publishing, pruning, a failed build). A test of a refresh runs the real
    command instead (faultkit.run_cli). Returns (published database path, BuildResult)."""
    from codeetl.build import pipeline
    from codeetl.sources.catalog import load_catalog

    catalog = load_catalog()
    for r in pipeline.select_releases(catalog, list(datasets), list(releases)):
        fetched = pipeline.fetch_step(r, root, str(mirror))
        if fetched.downloads:
            pipeline.parse_release_cached(r, fetched, root / "raw")
    res = pipeline.build_warehouse(pipeline.latest_parses(root / "raw", catalog), catalog, root / "warehouse")
    return pipeline.publish(res, root / "warehouse"), res
