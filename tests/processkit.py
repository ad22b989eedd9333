"""A codeetl command as a process of its own, with its peak memory: what `check` and `validate` promise to
bound (tests/unit/test_check_bounds.py, tests/unit/test_validate_bounds.py)."""

from __future__ import annotations

import subprocess
import sys

# The child runs the CLI and writes its own peak resident memory (VmHWM: this process' own, since exec)
# on stderr's last line.
CHILD = """
import sys
from codeetl.cli import app
try:
    app()
finally:
    peak = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    sys.stderr.write("\\nPEAK_KB " + peak[0] + "\\n")
"""


def start(args: list[str], **kw) -> subprocess.Popen:
    """`codeetl ARGS` started as a process (text pipes for stdout and stderr); read it with :func:`finish`."""
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def finish(p: subprocess.Popen, timeout: float, stdin_data: str | None = None) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr without the peak line, peak MB) of a process from :func:`start`."""
    out, err = p.communicate(stdin_data, timeout=timeout)
    lines = err.rstrip().splitlines()
    assert lines and lines[-1].startswith("PEAK_KB "), err
    return p.returncode, out, "\n".join(lines[:-1]).strip(), int(lines[-1].split()[1]) / 1024


def run(args: list[str], timeout: float, **kw) -> tuple[int, str, str, float]:
    """`codeetl ARGS` as a process: (exit code, stdout, stderr without the peak line, peak MB)."""
    return finish(start(args, **kw), timeout)
