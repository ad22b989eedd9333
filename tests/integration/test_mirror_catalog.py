"""The mirror and the catalog agree: every release folder of ../shared/cms (<dataset>/<release>) is a release
the catalog knows. A release CMS/CDC published and the mirror holds, but the catalog lacks, is never loaded
and never reported (a refresh skips only catalog releases): this test is where such a gap shows."""

from __future__ import annotations

from _shared import CMS, needs_mirror
from codeetl.sources.catalog import load_catalog

pytestmark = needs_mirror


def test_every_release_folder_of_the_mirror_is_a_catalog_release():
    catalog = {name: {r.release for r in ds.releases} for name, ds in load_catalog().items()}
    folders = [(d.name, r.name) for d in sorted(CMS.iterdir()) if d.is_dir() for r in sorted(d.iterdir()) if r.is_dir()]
    assert folders, f"no <dataset>/<release> folder in {CMS}"
    unknown = [f"{ds}/{rid}" for ds, rid in folders if rid not in catalog.get(ds, set())]
    assert unknown == [], f"in the mirror, not in the catalog (add them to datasets/<dataset>/catalog.toml): {unknown}"
