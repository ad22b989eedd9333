"""codeetl's Prefect settings: defaults only where the user set nothing (no Prefect server started)."""

from __future__ import annotations

from codeetl.ops.orchestrator import QUIET, SETTINGS, configure_prefect_env


def test_defaults_fill_gaps_and_yield_to_the_user():
    env = {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "900", "PREFECT_LOGGING_LEVEL": "INFO"}
    configure_prefect_env(environ=env)
    assert env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "900"
    assert env["PREFECT_LOGGING_LEVEL"] == "INFO"
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false" and env["DO_NOT_TRACK"] == "1"
    assert env["PREFECT_SERVER_LOGGING_LEVEL"] == "CRITICAL"


def test_script_mode_keeps_prefect_logs():
    env: dict[str, str] = {}
    configure_prefect_env(quiet=False, environ=env)
    assert env == SETTINGS and not set(QUIET) & set(env)
