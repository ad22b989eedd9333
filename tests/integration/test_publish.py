"""Publishing, pruning, the refresh lock and pipeline error messages, on temporary folders, from the small fixture\nmirror (tests/fixtures/mirror)."""

from __future__ import annotations

import os
import pytest
from pathlib import Path
from codeetl.build import pipeline
from codeetl.sources.catalog import load_catalog
from codeetl.errors import WarehouseError

from _shared import build_and_publish


def test_prune_keeps_the_fallback_and_drops_leftovers(tmp_path):
    _, a = build_and_publish(tmp_path)
    leftover = tmp_path / "warehouse" / "builds" / "20000101T000000000000Z"  # a killed build, older than all
    leftover.mkdir()
    _, b = build_and_publish(tmp_path)
    kept = sorted(p.name for p in (tmp_path / "warehouse" / "builds").iterdir())
    assert kept == sorted([a.build_id, b.build_id])


def test_incomplete_or_older_builds_are_not_published(tmp_path):
    _, a = build_and_publish(tmp_path)
    catalog = load_catalog()
    b = pipeline.build_warehouse(pipeline.latest_parses(tmp_path / "raw", catalog), catalog, tmp_path / "warehouse")
    (Path(b.directory) / pipeline.COMPLETE).unlink()
    with pytest.raises(WarehouseError, match="not complete"):
        pipeline.publish(b, tmp_path / "warehouse")
    c = pipeline.build_warehouse(pipeline.latest_parses(tmp_path / "raw", catalog), catalog, tmp_path / "warehouse")
    d = pipeline.build_warehouse(pipeline.latest_parses(tmp_path / "raw", catalog), catalog, tmp_path / "warehouse")
    pipeline.publish(d, tmp_path / "warehouse")
    with pytest.raises(WarehouseError, match="older than the current build"):
        pipeline.publish(c, tmp_path / "warehouse")


def test_one_refresh_at_a_time(tmp_path):
    with pipeline.refresh_lock(tmp_path):
        with pytest.raises(WarehouseError, match="another refresh is running"):
            with pipeline.refresh_lock(tmp_path):
                pass
    with pipeline.refresh_lock(tmp_path):  # released
        pass


def test_unknown_dataset_or_release_names(tmp_path):
    from codeetl.errors import CatalogError
    with pytest.raises(CatalogError, match=r"unknown dataset 'icd10'; known: .*icd10cm"):
        pipeline.select_releases(load_catalog(), ["icd10"])
    with pytest.raises(CatalogError, match=r"unknown release '2099'"):
        pipeline.select_releases(load_catalog(), ["icd10cm"], ["2099"])


def test_publish_swaps_atomically_and_prunes(tmp_path):
    _, a = build_and_publish(tmp_path)
    _, b = build_and_publish(tmp_path)
    _, c = build_and_publish(tmp_path)
    assert os.readlink(tmp_path / "warehouse" / "current") == f"builds/{c.build_id}"
    kept = sorted(p.name for p in (tmp_path / "warehouse" / "builds").iterdir())
    assert kept == sorted([b.build_id, c.build_id])


def test_no_warehouse_message(tmp_path):
    with pytest.raises(WarehouseError, match="run `codeetl refresh` first"):
        pipeline.current_database(tmp_path)
