"""Run the hostile-input suite (tests/hostile) and print the totals README's Reliability section quotes.

    python scripts/hostile_report.py [--json report.json] [pytest args...]

Each case enters one ledger line (tests/hostile/conftest.py): handled, traceback, data lost. The totals are
cases (collected), run, skipped (with why), handled, tracebacks and data lost; cases not handled are listed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also keep the full per-case report here")
    args, pytest_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        report_path = args.json or Path(tmp) / "hostile.json"
        env = {**os.environ, "OLMOASR_HOSTILE_REPORT": str(report_path), "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                               "tests/hostile", *pytest_args], cwd=ROOT, env=env)  # fmt: skip
        if not report_path.exists():
            print("no hostile case ran", file=sys.stderr)
            return proc.returncode or 1
        report = json.loads(report_path.read_text())
    totals = report["totals"]
    print("\nhostile-input suite: " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in totals.items()))
    for case in report["cases"]:
        if not case["handled"] or case["traceback"] or case["data_lost"]:
            print(f"  NOT HANDLED: {case['name']} ({case['test']})")
    for test in report.get("skipped", []):
        print(f"  skipped: {test}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
