"""Progress of a long stage (the build, one dataset's fetch and parse) through a plain callback.

The domain reports and never draws: a stage is a known number of steps, and each step that begins is one call
``progress(stage, done, total, text)`` (`done` steps of `total` finished, `text` the step beginning; the last call
has ``done == total``). The surfaces turn the calls into what they show: rich progress bars at a terminal
(:mod:`codeetl.cli.refresh`), Prefect progress artifacts of the task run (:mod:`codeetl.ops.flow`). Lines off a
terminal are the stage's ``notify`` messages, which a :class:`Steps` passes on unchanged.
"""

from __future__ import annotations

import re
from typing import Callable

StageProgress = Callable[[str, float, int, str], None]
"""``progress(stage, done, total, text)``: `done` (may be fractional within a step) of `total` steps finished."""

Notify = Callable[[str], None]

_PART = re.compile(r"\((\d+) of (\d+)\)")  # "code pages of ICD-10-CM 2025 (2 of 6)": part 2 of the current step


def label(stage: str, text: str) -> str:
    """What to show for a step: `text` under its stage ("build: quality gates"), the stage not said twice."""
    return text if text.startswith(f"{stage}:") else f"{stage}: {text}"


class Steps:
    """The steps of one stage, reported to `progress` (and their lines to `notify`). Call :meth:`begin` as each
    step starts and :meth:`finish` at the end; the object is also a ``notify`` callable for the functions the
    stage calls: their lines are passed on, and a line saying "(i of n)" moves the bar within the current step."""

    def __init__(self, stage: str, total: int, progress: StageProgress | None = None,
                 notify: Notify | None = None) -> None:
        self.stage, self.total, self.done, self.begun = stage, max(total, 1), 0, 0
        self._progress, self._notify = progress, notify

    def begin(self, text: str, line: bool = True) -> None:
        """The next step begins (so the steps begun before it are done): reports it, and passes `text` to notify
        unless `line` is false. Returns None."""
        self.done = min(self.begun, self.total - 1)
        self.begun += 1
        self._report(self.done, text)
        if line and self._notify:
            self._notify(text)

    def __call__(self, text: str) -> None:
        """A line from within the current step: passed to notify; "(i of n)" in it reports part i of n done."""
        if self._notify:
            self._notify(text)
        part = _PART.search(text)
        if part and int(part[2]) > 0:
            self._report(self.done + (int(part[1]) - 1) / int(part[2]), text)

    def finish(self, text: str = "done") -> None:
        """Every step is done: reports ``total`` of ``total``. Returns None."""
        self.done = self.total
        self._report(self.total, text)

    def _report(self, done: float, text: str) -> None:
        if self._progress:
            self._progress(self.stage, done, self.total, text)
