import os
import sys

# Run as a file (`spark-submit .../codeetl/__main__.py validate ...`), Python puts this package's own folder first
# on sys.path, where its subpackages (build, sql, spark, ...) would shadow top-level modules of those names.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

from codeetl.cli import main  # noqa: E402

main()
