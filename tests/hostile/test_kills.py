"""Class 9: a `sample` run killed with SIGKILL mid-write; the re-run leaves no `.tmp-*` file behind and
writes the same mix an uninterrupted run writes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

from .conftest import files_under, record


def kill_after_writing(count: int, shard: str) -> str:
    """A `python -c` program: the olmoasr CLI, SIGKILLed once the writer of `shard` has written `count` records."""
    return f"""
import os, signal, sys
from olmoasr.io import jsonl
real = jsonl.JsonlWriter.write
def write(self, record):
    real(self, record)
    if self.count == {count} and {shard!r} in str(self.path):
        os.kill(os.getpid(), signal.SIGKILL)
jsonl.JsonlWriter.write = write
from olmoasr.cli.main import run
sys.exit(run(sys.argv[1:]))
"""


KILL_MID_SHARD = kill_after_writing(3, "mix_00001")  # the second shard is half written


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


KILL_MID_SEGMENTS = kill_after_writing(2, "shard_2")  # the third shard is half written


def test_prep_segment_killed_mid_write_leaves_only_complete_files_and_reruns_to_the_same_bytes(tmp_path, cli):
    """SIGKILL while a shard's records and tar containers are half written: every file under a final name
    is whole (each gzip stream ends, each container was renamed complete), and the re-run's output is
    byte-identical to a run never interrupted."""
    from .raw_pairs import make_pair

    for i in range(4):
        make_pair(tmp_path / "raw" / f"shard_{i}", f"pair{i}", seconds=40)
    assert cli("prep", "jsonl", tmp_path / "raw", "-o", tmp_path / "docs", "-w", "1", "-q").code == 0
    argv = ["prep", "segment", str(tmp_path / "docs"), "-o", str(tmp_path / "segs"), "-w", "1", "-q"]
    proc = subprocess.run([sys.executable, "-c", KILL_MID_SEGMENTS, *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=600)  # fmt: skip
    assert proc.returncode == -9, proc.stderr[-2000:]
    killed = files_under(tmp_path / "segs")
    assert any(".tmp-" in name for name in killed), "the kill should have left temporaries (the case here)"
    final = [name for name in killed if ".tmp-" not in name and ".olmoasr" not in name]
    whole = True
    for name in final:
        if name.endswith(".gz"):
            try:
                gzip.decompress((tmp_path / "segs" / name).read_bytes())
            except (EOFError, OSError):
                whole = False
    assert not any(name.startswith("shard_2") for name in final), final  # nothing of the killed shard

    outcome = cli(*argv)
    fresh = cli(*[a.replace("segs", "fresh") for a in argv])
    after = files_under(tmp_path / "segs")

    def outputs(folder):  # records name their containers by absolute path: compared with the folder's name out
        def content(name):
            data = (folder / name).read_bytes()
            return gzip.decompress(data).replace(str(folder).encode(), b"OUT") if name.endswith(".gz") else data

        return {name: content(name) for name in files_under(folder)
                if ".olmoasr" not in name and not name.endswith("stats.json")}  # fmt: skip

    same = outputs(tmp_path / "segs") == outputs(tmp_path / "fresh")
    clean = outcome.code == 0 and fresh.code == 0 and not [name for name in after if ".tmp-" in name]
    record("prep segment killed mid-write, then re-run", outcome, handled=clean and whole, data_lost=not same)
    assert clean and whole, (outcome.err[-2000:], after)
    assert same, sorted(set(outputs(tmp_path / "segs")) ^ set(outputs(tmp_path / "fresh")))
