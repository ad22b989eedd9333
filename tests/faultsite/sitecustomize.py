"""Fault injection below the refresh flow, for a test that raises the catalog's size ceilings.

Python imports ``sitecustomize`` at start-up from the first folder of ``sys.path`` that has one; a test puts
this folder first on PYTHONPATH (``faultkit.command_env(max_bytes=...)``), so every Python process of the
``codeetl`` command it starts (the supervisor and the worker) reads the catalog with every size ceiling set
to ``$CODEETL_TEST_MAX_BYTES``. The flow itself is the real one.
"""

import os
import sys

if os.environ.get("CODEETL_TEST_MAX_BYTES"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import faultkit

    faultkit.raise_caps(int(os.environ["CODEETL_TEST_MAX_BYTES"]))
    del sys.path[0]
