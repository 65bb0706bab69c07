"""Class 10: two runs into one folder, a failed shard on a full disk, incomplete upstream outputs,
duplicate ids, unreadable files. One line each, and what is on disk stays consistent."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from olmoasr.io.lock import output_lock

from .conftest import expect_one_line, files_under, record


def records_dir(tmp_path, n=6):
    folder = tmp_path / "records"
    folder.mkdir()
    lines = [{"id": f"doc{i}", "seg_id": f"seg{i}", "audio_timestamp": "00:00:00,000_00:00:10,000"} for i in range(n)]
    (folder / "part.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return folder


@pytest.mark.parametrize("command", ["sample", "filter", "tag", "train"])
def test_a_second_run_into_a_busy_folder_is_one_line_and_touches_nothing(tmp_path, cli, command):
    source = records_dir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.jsonl").write_text("{}\n")
    (out / ".keep.jsonl.tmp-1-abcd").write_text("a running writer's temporary")
    argv = {
        "sample": ["sample", source, "-o", out, "--count", "2", "-q", "-w", "1"],
        "filter": ["filter", source, "-o", out, "-q", "-w", "1"],
        "tag": ["tag", "doc", source, "-o", out, "-q", "-w", "1"],
        "train": ["train", "--config", "micro", "--data", source, "--out", out, "--device", "cpu"],
    }[command]
    before = files_under(out)
    with output_lock(out, "the first run"):
        outcome = cli(*argv)
    lost = {k: v for k, v in files_under(out).items() if k != ".olmoasr/lock"} != {
        k: v for k, v in before.items() if k != ".olmoasr/lock"
    }
    expect_one_line(f"second run into a busy folder: {command}", outcome, naming=out, says="the first run",
                    data_lost=lost)  # fmt: skip


def test_a_failed_task_leaves_no_temporaries_behind(tmp_path):
    from olmoasr.pipeline.executor import LocalExecutor, ShardTask

    class FillsTheDisk:
        name = "fills"

        def __init__(self, output_dir):
            self.output_dir = output_dir

        def plan(self):
            return [ShardTask("a"), ShardTask("b")]

        def run_task(self, task, progress):
            from olmoasr.io.jsonl import JsonlWriter

            writer = JsonlWriter(self.output_dir / f"{task.shard}.jsonl")
            writer.write({"x": 1})  # a temporary exists now; the disk fills before close
            if task.shard == "b":
                raise OSError(28, "No space left on device")
            writer.close()
            return {"records": 1}

    out = tmp_path / "out"
    report = LocalExecutor(workers=1, show_progress=False).run(FillsTheDisk(out))
    left = [name for name in files_under(out) if ".tmp-" in name]
    handled = len(report.failures) == 1 and "No space left" in report.failures[0][1] and (out / "a.jsonl").exists()
    record("failed shard on a full disk: temporaries", handled=handled, data_lost=bool(left))
    assert handled and not left, (report.failures, left)


def test_duplicate_ids_across_shards_are_drawn_once_and_counted(tmp_path, cli):
    source = tmp_path / "records"
    source.mkdir()
    for shard in ("a", "b"):  # the same ten segments twice, in two shards
        lines = [{"id": f"doc{i}", "seg_id": f"seg{i}", "audio_timestamp": "00:00:00,000_00:00:10,000"}
                 for i in range(10)]  # fmt: skip
        (source / f"{shard}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    outcome = cli("sample", source, "-o", tmp_path / "mix", "--count", "20", "-q", "-w", "1")
    drawn = [json.loads(line)["seg_id"] for p in sorted((tmp_path / "mix").glob("mix_*.jsonl.gz"))
             for line in gzip.decompress(p.read_bytes()).decode().splitlines()]  # fmt: skip
    handled = (outcome.code == 0 and sorted(drawn) == sorted(f"seg{i}" for i in range(10))
               and "10 candidate record(s) repeated" in outcome.out
               and len([w for w in outcome.warning_lines if "repeat" in w]) == 1)  # fmt: skip
    record("duplicate ids across shards: sample", outcome, handled=handled, data_lost=len(drawn) != len(set(drawn)))
    assert handled, (outcome.out, outcome.err, drawn)


def test_duplicate_pair_ids_across_shard_folders_are_rejected_and_counted(tmp_path, cli):
    from .raw_pairs import make_pair

    make_pair(tmp_path / "raw" / "shard_a", "p1", seconds=4)
    second = make_pair(tmp_path / "raw" / "shard_b", "p1", seconds=4)  # the same id in another shard
    make_pair(tmp_path / "raw" / "shard_b", "p2", seconds=4)
    outcome = cli("prep", "jsonl", tmp_path / "raw", "-o", tmp_path / "docs", "-w", "1", "-q")
    ids = [json.loads(line)["id"] for p in sorted((tmp_path / "docs").glob("*.jsonl.gz"))
           for line in gzip.decompress(p.read_bytes()).decode().splitlines()]  # fmt: skip
    stats = json.loads((tmp_path / "docs" / "shard_b.stats.json").read_text())
    named = [line for line in outcome.warning_lines if str(second) in line and "p1" in line]
    handled = (outcome.code == 0 and stats.get("rejects.duplicate_id") == 1 and len(named) == 1
               and "duplicate_id" in outcome.out)  # fmt: skip
    record(
        "duplicate pair ids across shards: prep jsonl", outcome, handled=handled, data_lost=sorted(ids) != ["p1", "p2"]
    )
    assert handled and sorted(ids) == ["p1", "p2"], (outcome.err, stats, ids)


def test_a_pipe_named_as_audio_or_transcript_never_blocks_the_walk(tmp_path):
    """A FIFO opened for reading waits for a writer forever: prep jsonl must not open one."""
    import subprocess
    import sys

    from .raw_pairs import make_pair

    make_pair(tmp_path / "raw" / "shard_0", "good", seconds=4)
    audio = make_pair(tmp_path / "raw" / "shard_0", "piped_audio", seconds=4) / "audio_piped_audio.flac"
    audio.unlink()
    os.mkfifo(audio)
    text = make_pair(tmp_path / "raw" / "shard_0", "piped_text", seconds=4) / "transcript_piped_text.srt"
    text.unlink()
    os.mkfifo(text)
    argv = ["prep", "jsonl", str(tmp_path / "raw"), "-o", str(tmp_path / "docs"), "-w", "1", "-q"]
    try:
        proc = subprocess.run([sys.executable, "-m", "olmoasr", *argv], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": os.getcwd()})  # fmt: skip
    except subprocess.TimeoutExpired:
        record("pipes named as pair files: prep jsonl", handled=False)
        raise
    stats = json.loads((tmp_path / "docs" / "shard_0.stats.json").read_text())
    rejected = sum(v for k, v in stats.items() if k.startswith("rejects."))
    lines = [line for line in proc.stderr.splitlines() if "piped_" in line]
    handled = proc.returncode == 0 and stats.get("docs") == 1 and rejected == 2 and len(lines) == 2
    record("pipes named as pair files: prep jsonl", handled=handled, traceback="Traceback" in proc.stderr)
    assert handled, (proc.returncode, proc.stderr[-2000:], stats)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: permissions cannot deny it here")
def test_an_audio_file_without_read_permission_is_unreadable_not_corrupt(tmp_path, cli):
    from .raw_pairs import make_pair

    make_pair(tmp_path / "raw" / "shard_0", "good", seconds=4)
    locked = make_pair(tmp_path / "raw" / "shard_0", "locked", seconds=4) / "audio_locked.flac"
    locked.chmod(0)
    outcome = cli("prep", "jsonl", tmp_path / "raw", "-o", tmp_path / "docs", "-w", "1", "-q")
    stats = json.loads((tmp_path / "docs" / "shard_0.stats.json").read_text())
    named = [line for line in outcome.warning_lines if str(locked) in line and "ermission" in line]
    handled = outcome.code == 0 and stats.get("rejects.unreadable_audio") == 1 and len(named) == 1
    record("audio without read permission: prep jsonl", outcome, handled=handled)
    assert handled and "rejects.corrupt_audio" not in stats, (outcome.err, stats)
