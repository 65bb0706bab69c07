"""The shared executor: markers written last, finished shards skipped, failures isolated and counted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from olmoasr.io import JsonlWriter, iter_jsonl
from olmoasr.io.completion import marker_path
from olmoasr.pipeline.executor import LocalExecutor, ShardTask


@dataclass
class DoubleStage:
    """Toy stage used only to exercise the executor: doubles `n` in every record."""

    input_dir: Path
    output_dir: Path
    name: str = "double"
    fail_on: str | None = None
    calls_file: Path | None = None

    def plan(self):
        return [ShardTask(p.name.split(".")[0], (str(p),)) for p in sorted(self.input_dir.glob("*.jsonl"))]

    def run_task(self, task, progress):
        if self.calls_file is not None:
            with open(self.calls_file, "a") as fh:
                fh.write(task.shard + "\n")
        if task.shard == self.fail_on:
            raise ValueError("bad shard")
        n = 0
        with JsonlWriter(self.output_dir / f"{task.shard}.jsonl") as out:
            for _, rec in iter_jsonl(task.inputs[0]):
                out.write({"n": rec["n"] * 2})
                n += 1
                progress(1)
        return {"records": n}

    def merge_parts(self, shard, num_parts):
        raise AssertionError("not split")


def make_inputs(tmp_path, shards=4, per=5):
    src = tmp_path / "in"
    src.mkdir()
    for s in range(shards):
        with JsonlWriter(src / f"shard_{s:05d}.jsonl") as w:
            w.write_many({"n": i} for i in range(per))
    return src


def test_runs_all_shards_then_skips_them_on_rerun(tmp_path):
    src = make_inputs(tmp_path)
    calls = tmp_path / "calls.txt"
    stage = DoubleStage(src, tmp_path / "out", calls_file=calls)
    report = LocalExecutor(workers=2, show_progress=False).run(stage)
    assert report.ok and report.tasks_run == 4 and report.stats == {"records": 20}
    assert marker_path(stage.output_dir, "double", "shard_00002").exists()
    first_calls = calls.read_text().split()
    again = LocalExecutor(workers=2, show_progress=False).run(stage)
    assert again.tasks_run == 0 and again.tasks_skipped == 4
    assert again.stats == report.stats  # the summary of a resumed run equals a full run's
    assert calls.read_text().split() == first_calls


def test_a_failing_shard_is_reported_and_the_rest_finish(tmp_path):
    src = make_inputs(tmp_path)
    stage = DoubleStage(src, tmp_path / "out", fail_on="shard_00001")
    report = LocalExecutor(workers=1, show_progress=False).run(stage)
    assert [key for key, _ in report.failures] == ["shard_00001"]
    assert "ValueError: bad shard" in report.failures[0][1]
    assert report.stats == {"records": 15}
    assert not (stage.output_dir / "shard_00001.jsonl").exists()
    assert not marker_path(stage.output_dir, "double", "shard_00001").exists()
    # fixing the input and re-running does only the missing shard
    stage.fail_on = None
    report = LocalExecutor(workers=1, show_progress=False).run(stage)
    assert report.tasks_run == 1 and report.stats == {"records": 20}


def test_output_without_marker_is_redone(tmp_path):
    """A crash after the output rename but before the marker: the shard is simply redone."""
    src = make_inputs(tmp_path, shards=1)
    stage = DoubleStage(src, tmp_path / "out")
    LocalExecutor(workers=1, show_progress=False).run(stage)
    marker_path(stage.output_dir, "double", "shard_00000").unlink()
    report = LocalExecutor(workers=1, show_progress=False).run(stage)
    assert report.tasks_run == 1
    assert [r["n"] for _, r in iter_jsonl(stage.output_dir / "shard_00000.jsonl")] == [0, 2, 4, 6, 8]


@dataclass
class PartsStage:
    """Toy stage with one shard split into three parts; counts how often the parts are merged."""

    output_dir: Path
    name: str = "parts"
    merges: int = 0

    def plan(self):
        return [ShardTask("shard_00000", (), part=k, num_parts=3) for k in range(3)]

    def run_task(self, task, progress):
        return {"records": 2}

    def merge_parts(self, shard, num_parts):
        self.merges += 1
        return {"records": 2 * num_parts, "shards": 1}


class BatchedExecutor(LocalExecutor):
    """Runs every task, then reports them all done: what a pool does when futures finish together."""

    def _execute(self, stage, pending, bar, task_done, record_failure):
        from olmoasr.pipeline.executor import execute_task

        results = [(task, execute_task(stage, task)) for task in pending]
        for task, stats in results:
            task_done(task, stats)


def test_a_split_shard_whose_parts_finish_together_is_counted_once(tmp_path):
    stage = PartsStage(tmp_path / "out")
    report = BatchedExecutor(workers=1, show_progress=False).run(stage)
    assert report.tasks_run == 3 and stage.merges == 1
    assert report.stats == {"records": 6, "shards": 1}
    again = BatchedExecutor(workers=1, show_progress=False).run(stage)
    assert again.tasks_run == 0 and again.stats == report.stats
