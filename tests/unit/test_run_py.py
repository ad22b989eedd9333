"""run.py's environment for the command it runs: the default data folder and the name hints use."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_py(monkeypatch):
    spec = importlib.util.spec_from_file_location("codeetl_run_py", REPO / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(sys, "argv", ["run.py", "status"])
    return module


def test_a_command_gets_the_checkouts_data_folder_and_its_name(run_py, monkeypatch, tmp_path):
    monkeypatch.delenv("CODEETL_DATA", raising=False)
    env = run_py.command_env(tmp_path / ".venv", testing=False)
    assert env["CODEETL_DATA"] == str(REPO / "data")
    assert env["CODEETL_PROG"] == "python3 run.py"
    assert env["PATH"].split(":")[0] == str(tmp_path / ".venv" / "bin")


def test_the_users_data_folder_wins(run_py, monkeypatch, tmp_path):
    monkeypatch.setenv("CODEETL_DATA", "/srv/codeetl/data")
    monkeypatch.setattr(sys, "argv", ["../my checkout/run.py", "status"])
    env = run_py.command_env(tmp_path / ".venv", testing=False)
    assert env["CODEETL_DATA"] == "/srv/codeetl/data" and env["CODEETL_PROG"] == "python3 '../my checkout/run.py'"


def test_the_tests_get_neither(run_py, monkeypatch, tmp_path):
    monkeypatch.delenv("CODEETL_DATA", raising=False)
    monkeypatch.setenv("CODEETL_PROG", "python3 run.py")
    env = run_py.command_env(tmp_path / ".venv", testing=True)
    assert "CODEETL_DATA" not in env and "CODEETL_PROG" not in env
