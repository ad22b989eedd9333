"""sql/changes.sql: what a refresh reports it changed, each dataset's counts a statement of its own (run only when the
refresh added a release of that dataset)."""

from __future__ import annotations

import re

from codeetl.build.named_sql import named_statements


def test_the_datasets_said_to_be_counted_are_those_with_counts():
    statements = named_statements("changes.sql")
    counted = set(re.findall(r"'(\w+)'", re.search(r"c\.dataset IN \(([^)]*)\) AS counted", statements["previous"])[1]))
    assert counted == {name.removeprefix("counts_") for name in statements if name.startswith("counts_")} == {"icd10cm", "msdrg", "pfs"}
