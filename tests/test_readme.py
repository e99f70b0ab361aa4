"""The README's two commands are the ones CI runs, and they point at things that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", readme)[:2]


def test_ci_runs_the_readmes_test_command():
    start, test = _commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()
    assert "TEST_DATABASE_URL=" in ci


def test_the_start_command_installs_migrates_seeds_and_serves():
    start, _ = _commands()
    steps = [step.strip() for step in start.split("&&")]
    assert steps[0] == "python3 -m venv .venv"
    assert steps[1].startswith(".venv/bin/pip install -e .")
    assert ".venv/bin/flask db upgrade" in steps
    assert ".venv/bin/flask seed-demo --if-empty" in steps
    assert steps[-1] == ".venv/bin/flask run"
    assert (ROOT / ".flaskenv").read_text().count("KNOTENPUNKT_ENV=development") == 1
