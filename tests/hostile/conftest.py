"""The hostile-input suite: inputs an attacker or an unlucky user would hand every command.

Each case is generated here (PyAV, plain Python, torch.save) and checked for the same things: the exit
code, exactly one `error:` line naming the bad file (no traceback), the count in the summary, nothing
half-written under a final name, and no pickled payload executed (a marker file that must not appear).
Every case is entered in a ledger; `OLMOASR_HOSTILE_REPORT=path.json pytest tests/hostile` writes the
totals (cases, handled, tracebacks, data lost) that README's reliability section quotes.

A case is one collected test here (a parametrized test gives one case per parameter set), and it enters
exactly one ledger line: a case test that passes without one, or with two, fails. Tests marked
`hostile_control` (a check that the honest input still works) are not cases.
`OLMOASR_HOSTILE_CASES=path.txt pytest --collect-only tests/hostile` writes the case ids, one a line: the
count README states is checked against it (test_reliability_figures.py).
"""

from __future__ import annotations

import json
import os
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from olmoasr.cli.main import run

from .train_run import trained_run  # noqa: F401 - a fixture for every hostile test module


@dataclass
class Case:
    name: str
    handled: bool
    traceback: bool
    data_lost: bool
    test: str = ""


LEDGER: list[Case] = []
_RUNNING: list[str] = [""]  # the node id of the case test running now
_SKIPPED: list[str] = []


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "hostile_control: a control in tests/hostile (honest input), not a case")


def is_case(item) -> bool:
    return item.get_closest_marker("hostile_control") is None


def pytest_collection_finish(session) -> None:
    target = os.environ.get("OLMOASR_HOSTILE_CASES")
    if target:
        here = Path(__file__).parent
        cases = [item.nodeid for item in session.items if is_case(item) and Path(item.path).is_relative_to(here)]
        Path(target).write_text("".join(f"{case}\n" for case in cases))


@pytest.fixture(autouse=True)
def _case_id(request):
    _RUNNING[0] = request.node.nodeid
    yield
    _RUNNING[0] = ""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and is_case(item) and item.nodeid not in _SKIPPED:
        _SKIPPED.append(item.nodeid)
    if report.when != "call" or not report.passed or not is_case(item):
        return
    entered = sum(case.test == item.nodeid for case in LEDGER)
    if entered != 1:
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a hostile case enters exactly one ledger line (record), this one {entered}"


def pytest_sessionfinish(session, exitstatus) -> None:
    target = os.environ.get("OLMOASR_HOSTILE_REPORT")
    if not target or not LEDGER:
        return
    totals = {
        "cases": len(LEDGER) + len(_SKIPPED),
        "run": len(LEDGER),
        "skipped": len(_SKIPPED),
        "handled": sum(c.handled for c in LEDGER),
        "tracebacks": sum(c.traceback for c in LEDGER),
        "data_lost": sum(c.data_lost for c in LEDGER),
    }
    report = {"totals": totals, "cases": [asdict(c) for c in LEDGER], "skipped": _SKIPPED}
    Path(target).write_text(json.dumps(report, indent=1))


@dataclass
class Outcome:
    code: int | None
    out: str
    err: str
    traceback: BaseException | None

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]

    @property
    def warning_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("warning:")]


@pytest.fixture
def cli(capsys):
    """cli(*argv) -> Outcome: the real `olmoasr` entry point; an exception escaping it is a traceback."""

    def call(*argv: str) -> Outcome:
        capsys.readouterr()
        escaped = None
        code = None
        try:
            code = run([str(a) for a in argv])
        except BaseException as err:  # noqa: BLE001 - anything escaping the CLI is what this suite looks for
            escaped = err
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err, escaped)

    return call


def record(name: str, outcome: Outcome | None = None, *, handled: bool, data_lost: bool = False,
           traceback: bool = False) -> None:  # fmt: skip
    """Enter a case in the ledger; a traceback is an exception escaping the CLI (or one printed by a subprocess)."""
    escaped = outcome is not None and (outcome.traceback is not None or "Traceback" in outcome.err)
    LEDGER.append(Case(name, handled, traceback or escaped, data_lost, _RUNNING[0]))


def expect_one_line(name: str, outcome: Outcome, *, code: int = 1, naming: str | os.PathLike, says: str = "",
                    data_lost: bool = False) -> str:  # fmt: skip
    """Assert (and ledger) one `error:` line naming `naming`, exit `code`, no traceback; returns the line."""
    lines = outcome.error_lines
    handled = (
        outcome.traceback is None
        and outcome.code == code
        and len(lines) == 1
        and "Traceback" not in outcome.err
        and str(naming) in lines[0]
        and says in lines[0]
    )
    record(name, outcome, handled=handled, data_lost=data_lost)
    assert outcome.traceback is None, f"{name}: escaped the CLI: {outcome.traceback!r}"
    assert "Traceback" not in outcome.err, outcome.err[-2000:]
    assert outcome.code == code, (outcome.code, outcome.err[-2000:])
    assert len(lines) == 1, outcome.err[-2000:]
    assert str(naming) in lines[0] and says in lines[0], lines[0]
    assert len(lines[0]) < 800
    assert not data_lost, f"{name}: data lost"
    return lines[0]


class Payload:
    """Unpickling this creates `marker`: proof that a load ran code from the file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def marker(tmp_path) -> Path:
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "a pickled payload was executed"


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def files_under(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}
