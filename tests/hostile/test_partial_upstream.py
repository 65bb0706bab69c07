"""Class 10: a stage reading the output of an upstream run that was killed (SIGKILL after 2 of 8 shards).
Every downstream command refuses it with one line naming the folder and writes nothing; with
`--allow-partial` it warns once and reads the finished shards; once the upstream run is re-run to the end,
the folder is accepted without a word."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import expect_one_line, record
from .raw_pairs import make_pair
from .train_run import TRAIN_FLAGS

SHARDS = 8
KILL_AFTER_TWO_SHARDS = """
import os, signal, sys
from olmoasr.pipeline import executor
real = executor.write_marker
def write_marker(path, stats):
    real(path, stats)
    if len(list(path.parent.glob("*.done.json"))) == 2:  # two shards finished: the machine goes down
        os.kill(os.getpid(), signal.SIGKILL)
executor.write_marker = write_marker
from olmoasr.cli.main import run
sys.exit(run(sys.argv[1:]))
"""


def killed(*argv) -> None:
    proc = subprocess.run([sys.executable, "-c", KILL_AFTER_TWO_SHARDS, *map(str, argv)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=600)  # fmt: skip
    assert proc.returncode == -9, proc.stderr[-2000:]


@dataclass(frozen=True)
class Upstream:
    raw: Path
    docs_killed: Path  # `prep jsonl` killed after 2 of 8 shards
    docs: Path  # the same run finished
    segs_killed: Path  # `prep segment` of `docs`, killed after 2 of 8 shards


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Upstream:
    from olmoasr.cli.main import run

    root = tmp_path_factory.mktemp("partial")
    for i in range(SHARDS):
        make_pair(root / "raw" / f"shard_{i}", f"pair{i}", seconds=6)
    killed("prep", "jsonl", root / "raw", "-o", root / "docs_killed", "-w", "1", "-q")
    assert run(["prep", "jsonl", str(root / "raw"), "-o", str(root / "docs"), "-w", "1", "-q"]) == 0
    killed("prep", "segment", root / "docs", "-o", root / "segs_killed", "-w", "1", "-q")
    return Upstream(root / "raw", root / "docs_killed", root / "docs", root / "segs_killed")


def jsonl_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.jsonl*") if ".olmoasr" not in p.parts) if folder.exists() else []


def records(folder: Path) -> list[dict]:
    out = []
    for path in jsonl_under(folder):
        data = path.read_bytes()
        out += [json.loads(line) for line in (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines()]
    return out


DOWNSTREAM = {
    "prep segment": lambda up, out: ["prep", "segment", up.docs_killed, "-o", out, "-w", "1", "-q"],
    "tag seg": lambda up, out: ["tag", "seg", up.segs_killed, "-o", out, "-w", "1", "-q"],
    "filter": lambda up, out: ["filter", up.segs_killed, "-o", out, "-w", "1", "-q"],
    "tag lang": lambda up, out: [
        "tag",
        "lang",
        up.segs_killed,
        "-o",
        out,
        "--backend",
        "whisper-en",
        "--device",
        "cpu",
        "--workers",
        "1",
        "-q",
    ],  # fmt: skip
    "sample": lambda up, out: ["sample", up.segs_killed, "-o", out, "--count", "2", "-w", "1", "-q"],
    "train": lambda up, out: ["train", *TRAIN_FLAGS, "--train_steps", "1", "--data", up.segs_killed, "--out", out],
}


@pytest.mark.parametrize("command", list(DOWNSTREAM))
def test_a_killed_upstream_run_is_refused_in_one_line(upstream, tmp_path, cli, command):
    argv = DOWNSTREAM[command](upstream, tmp_path / "out")
    folder = argv[2] if command in ("prep segment", "tag seg", "tag lang") else argv[1]
    if command == "train":
        folder = upstream.segs_killed
    outcome = cli(*argv)
    written = jsonl_under(tmp_path / "out")
    expect_one_line(f"killed upstream, then {command}", outcome, naming=folder, says=f"6 of {SHARDS} shard(s)",
                    data_lost=bool(written))  # fmt: skip
    assert "--allow-partial" in outcome.error_lines[0]


def test_allow_partial_warns_once_and_reads_the_finished_shards(upstream, tmp_path, cli):
    finished = {r["seg_id"] for r in records(upstream.segs_killed)}
    outcome = cli("tag", "seg", upstream.segs_killed, "-o", tmp_path / "tagged", "-w", "1", "-q", "--allow-partial")
    tagged = {r["seg_id"] for r in records(tmp_path / "tagged")}
    named = [line for line in outcome.warning_lines if str(upstream.segs_killed) in line and "6 of 8" in line]
    trained = cli("train", *TRAIN_FLAGS, "--train_steps", "1", "--data", upstream.segs_killed, "--out",
                  tmp_path / "run", "--allow-partial")  # fmt: skip
    handled = (outcome.code == 0 and len(named) == 1 and tagged == finished and len(jsonl_under(tmp_path / "tagged"))
               == 2 and trained.code == 0 and any("--allow-partial" in w for w in trained.warning_lines))  # fmt: skip
    record("killed upstream: --allow-partial (tag seg, train)", outcome, handled=handled)
    assert handled, (outcome.code, outcome.err[-2000:], trained.code, trained.err[-2000:], len(tagged), len(finished))


def test_the_upstream_run_finished_is_accepted_without_a_word(upstream, tmp_path, cli):
    import shutil

    segs = tmp_path / "segs"
    shutil.copytree(upstream.segs_killed, segs)
    resumed = cli("prep", "segment", upstream.docs, "-o", segs, "-w", "1", "-q")
    outcome = cli("tag", "seg", segs, "-o", tmp_path / "tagged", "-w", "1", "-q")
    whole = cli("prep", "segment", upstream.docs, "-o", tmp_path / "fresh", "-w", "1", "-q")
    same = sorted(r["seg_id"] for r in records(tmp_path / "tagged")) == sorted(
        r["seg_id"] for r in records(tmp_path / "fresh")
    )
    handled = resumed.code == 0 and outcome.code == 0 and whole.code == 0 and not outcome.warning_lines
    record("killed upstream, re-run to the end, then tag seg", outcome, handled=handled, data_lost=not same)
    assert handled and same, (resumed.err[-2000:], outcome.err[-2000:])
    assert len(jsonl_under(tmp_path / "tagged")) == SHARDS
