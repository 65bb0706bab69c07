"""What the side-by-side benchmarks share: one system per child process, its JSON answer, the machine's load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_json_child(command: list[str], env: dict[str, str], what: str) -> dict:
    """Run `command`; its last stdout line is the JSON result. A failed child stops the benchmark naming `what`."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{Path(sys.argv[0]).name}: {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_average() -> float:
    """The 1-minute load average, printed beside each timing (NaN where /proc is absent)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")
