"""README's Reliability section states how many hostile cases there are: checked against the collected cases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATED = re.compile(r"hostile-input suite \(`tests/hostile/`\) has (\d+) cases")


def collected_cases(tmp_path: Path) -> list[str]:
    listing = tmp_path / "cases.txt"
    env = {**os.environ, "OLMOASR_HOSTILE_CASES": str(listing), "PYTEST_ADDOPTS": ""}  # no CI report overwritten
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           str(Path(__file__).parent)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return listing.read_text().splitlines()


@pytest.mark.hostile_control
def test_readme_states_the_number_of_hostile_cases(tmp_path):
    cases = collected_cases(tmp_path)
    assert len(cases) >= 90 and not any("test_reliability_figures" in case for case in cases)
    stated = STATED.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(stated) == 1, "README's Reliability section must state the hostile-input suite's case count once"
    assert int(stated[0]) == len(cases), (
        f"README says {stated[0]} hostile cases, tests/hostile has {len(cases)}: "
        "update README's Reliability section (python scripts/hostile_report.py prints the figures)"
    )
