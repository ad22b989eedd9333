"""The SparkSession of a codeetl command: started quietly, or taken from ``spark-submit``.

Started here (``codeetl validate … --engine spark``), the JVM's own output — log4j lines, progress bars,
warnings — goes to a log file in a private temporary folder, never to the terminal; a failure names that file
in one line. Under ``spark-submit`` (or any running session) the session Spark made is used as it is, with its
master and logging.

Without PySpark or Java the command fails with one line naming what to install (:class:`SparkUnavailable`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from codeetl.errors import CodeEtlError

DEFAULT_MASTER = "local[*]"

SESSION_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # The claim SQL (sql/claims/*.sql) quotes identifiers in double quotes, as DuckDB does; Spark reads them as
    # identifiers in ANSI mode with this switch.
    "spark.sql.ansi.enabled": "true",
    "spark.sql.ansi.doubleQuotedIdentifiers": "true",
    "spark.sql.session.timeZone": "UTC",
    # Every CSV record parsed whatever columns a query reads: the row-number pass and the check count alike.
    "spark.sql.csv.parser.columnPruning.enabled": "false",
}
"""Settings the claim SQL relies on; set on every session it runs in."""

INSTALL_JAVA = ("the Spark engine needs Java 17 or 21, and there is no `java` on PATH and no JAVA_HOME: install a "
                "JDK (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME")
INSTALL_PYSPARK = ("the Spark engine needs PySpark: install codeetl with its spark extra "
                   "(uv sync --extra spark, or pip install 'codeetl[spark]')")

LOG4J = """status = error
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n
"""


def local_defaults(master: str) -> dict[str, str]:
    """Settings for a local master (local, local[N], local[*]): as many shuffle partitions as cores, times two,
    instead of Spark's 200 (a cluster's default; on one machine its tiny tasks cost more than they share)."""
    if not master.startswith("local"):
        return {}
    threads = (master[6:-1] if master.startswith("local[") else "1").split(",")[0]  # local[N] or local[N,retries]
    cores = int(threads) if threads.isdigit() else (os.cpu_count() or 1)
    return {"spark.sql.shuffle.partitions": str(max(2, 2 * cores))}


class SparkUnavailable(CodeEtlError):
    """Spark cannot run here: PySpark or Java is missing, or the JVM did not start (the message says which)."""


def java_missing() -> str | None:
    """Why Java cannot be started (:data:`INSTALL_JAVA`), or None when ``$JAVA_HOME/bin/java`` or ``java`` on
    PATH exists."""
    home = os.environ.get("JAVA_HOME")
    if (home and Path(home, "bin", "java").exists()) or shutil.which("java"):
        return None
    return INSTALL_JAVA


def require_spark() -> None:
    """Raise :class:`SparkUnavailable` with one line naming what to install when PySpark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(INSTALL_PYSPARK) from None
    why = java_missing()
    if why:
        raise SparkUnavailable(why)


def active_session():
    """The SparkSession already running in this process (spark-submit, a notebook, a test), or None."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


class QuietSession:
    """A SparkSession started by codeetl, its JVM's output in ``log``; ``stop()`` ends both and removes the log
    folder (kept when ``keep_log``, e.g. after a failure)."""

    def __init__(self, master: str | None = None, conf: dict[str, str] | None = None, app: str = "codeetl"):
        require_spark()
        self.folder = Path(tempfile.mkdtemp(prefix="codeetl-spark-"))
        self.log = self.folder / "spark.log"
        self.spark = self._start(master or DEFAULT_MASTER, conf or {}, app)
        self.keep_log = False

    def _start(self, master: str, conf: dict[str, str], app: str):
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession

        props = self.folder / "log4j2.properties"
        props.write_text(LOG4J.format(log=self.log), encoding="utf-8")
        java_opts = f"-Dlog4j2.configurationFile=file:{props} -Dlog4j.configurationFile=file:{props}"
        sc_conf = SparkConf().setMaster(master).setAppName(app).set("spark.driver.extraJavaOptions", java_opts)
        sc_conf.set("spark.local.dir", str(self.folder / "local"))
        for k, v in {**SESSION_CONF, **local_defaults(master), **conf}.items():
            sc_conf.set(k, v)
        try:
            with self.log.open("ab") as out:
                gateway = launch_gateway(sc_conf, popen_kwargs={"stdout": out, "stderr": out})
            sc = SparkContext(conf=sc_conf, gateway=gateway)
        except Exception as e:  # the JVM did not start: its reason is in the log, not in a Py4J trace
            self.keep_log = True
            raise SparkUnavailable(f"Spark did not start ({e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                                   f"its log: {self.log}") from None
        sc.setLogLevel("WARN")
        return SparkSession(sc)

    def stop(self) -> None:
        """Stop Spark, wait for its JVM to end (it ends when its standard input closes; killed after 60 s) and
        remove the temporary folder (unless ``keep_log``)."""
        from pyspark import SparkContext

        gateway = SparkContext._gateway
        try:
            self.spark.stop()
            if gateway is not None:
                gateway.shutdown()
                SparkContext._gateway = None
                SparkContext._jvm = None
        finally:
            _end(getattr(gateway, "proc", None))
            if not self.keep_log:
                shutil.rmtree(self.folder, ignore_errors=True)


def _end(proc) -> None:
    """Close the JVM's standard input and wait for it (kill it when it does not end within 60 s)."""
    if proc is None:
        return
    import subprocess

    with contextlib.suppress(OSError):
        proc.stdin.close()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def configure(spark) -> None:
    """Apply :data:`SESSION_CONF`'s SQL settings to a session codeetl did not start (spark-submit)."""
    for k, v in SESSION_CONF.items():
        if k.startswith("spark.sql."):
            spark.conf.set(k, v)
