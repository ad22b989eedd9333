"""The plain progress callback of the long stages (codeetl.build.progress), without Prefect or a terminal."""

from __future__ import annotations

from codeetl.build.progress import Steps, label


def test_steps_report_what_is_done_and_what_begins():
    events, lines = [], []
    steps = Steps("build", 3, lambda *e: events.append(e), lines.append)
    steps.begin("build: loading")
    steps.begin("build: export", line=False)
    steps("build: code pages of ICD-10-CM 2026 (3 of 4)")  # a line from inside the step moves the bar within it
    steps.begin("build: page store")
    steps.finish("build: done")
    assert events == [("build", 0, 3, "build: loading"), ("build", 1, 3, "build: export"),
                      ("build", 1.5, 3, "build: code pages of ICD-10-CM 2026 (3 of 4)"),
                      ("build", 2, 3, "build: page store"), ("build", 3, 3, "build: done")]
    assert lines == ["build: loading", "build: code pages of ICD-10-CM 2026 (3 of 4)", "build: page store"]


def test_more_steps_than_announced_never_report_all_done_before_the_end():
    events = []
    steps = Steps("fetch and parse pfs", 1, lambda *e: events.append(e))
    steps.begin("pfs/2026-A")
    steps.begin("pfs/2026-B")
    assert [e[1] for e in events] == [0, 0]
    steps.finish()
    assert events[-1][1:3] == (1, 1)


def test_without_callbacks_nothing_happens_and_labels_name_the_stage_once():
    Steps("build", 5).begin("x")
    assert label("build", "build: quality gates") == "build: quality gates"
    assert label("fetch and parse gems", "gems/2018") == "fetch and parse gems: gems/2018"
