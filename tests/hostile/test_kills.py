"""Class 9: a `sample` run killed with SIGKILL mid-write; the re-run leaves no `.tmp-*` file behind and
writes the same mix an uninterrupted run writes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

from .conftest import files_under, record

KILL_MID_SHARD = """
import os, signal, sys
from olmoasr.io import jsonl
real = jsonl.JsonlWriter.write
def write(self, record):
    real(self, record)
    if self.count == 3 and "mix_00001" in str(self.path):  # the second shard is half written
        os.kill(os.getpid(), signal.SIGKILL)
jsonl.JsonlWriter.write = write
from olmoasr.cli.main import run
sys.exit(run(sys.argv[1:]))
"""


def shard_lines(folder):
    return {p.name: gzip.decompress(p.read_bytes()).decode() for p in sorted(folder.glob("mix_*.jsonl.gz"))}


def test_sample_killed_mid_write_leaves_no_temporaries_after_the_rerun(tmp_path, cli):
    source = tmp_path / "filtered"
    source.mkdir()
    records = [{"id": f"doc{i}", "seg_id": f"seg{i}", "audio_timestamp": "00:00:00,000_00:00:10,000"}
               for i in range(40)]  # fmt: skip
    (source / "part.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    argv = ["sample", str(source), "-o", str(tmp_path / "mix"), "--count", "20", "--shard-size", "5", "-q", "-w", "1"]
    proc = subprocess.run([sys.executable, "-c", KILL_MID_SHARD, *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=300)  # fmt: skip
    assert proc.returncode == -9, proc.stderr[-2000:]
    left = [name for name in files_under(tmp_path / "mix") if ".tmp-" in name]
    assert left, "the kill should have left a temporary shard (the case this test is about)"

    outcome = cli(*argv)
    after = files_under(tmp_path / "mix")
    clean = outcome.code == 0 and not [name for name in after if ".tmp-" in name]
    assert cli(*[a.replace("mix", "fresh") if a.endswith("mix") else a for a in argv]).code == 0
    same = shard_lines(tmp_path / "mix") == shard_lines(tmp_path / "fresh")
    record("sample killed mid-write, then re-run", outcome, handled=clean, data_lost=not same)
    assert clean, (outcome.err, after)
    assert same and len(shard_lines(tmp_path / "mix")) == 4
