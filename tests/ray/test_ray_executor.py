"""The Ray executor runs the same stage tasks as the local pool, honours the same markers, and survives a
worker that dies mid-shard. A local Ray instance (2 CPUs) is started by the test."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from olmoasr.io import JsonlWriter, iter_jsonl
from olmoasr.io.completion import marker_path
from olmoasr.pipeline.executor import LocalExecutor, ShardTask, make_executor

ray = pytest.importorskip("ray")


@dataclass
class SquareStage:
    input_dir: Path
    output_dir: Path
    name: str = "square"
    crash_once_flag: Path | None = None
    always_fail: str | None = None

    def plan(self):
        return [ShardTask(p.name.split(".")[0], (str(p),)) for p in sorted(self.input_dir.glob("*.jsonl"))]

    def run_task(self, task, progress):
        if task.shard == self.always_fail:
            raise RuntimeError("disk on fire")
        n = 0
        with JsonlWriter(self.output_dir / f"{task.shard}.jsonl.gz") as out:
            for i, (_, rec) in enumerate(iter_jsonl(task.inputs[0])):
                if self.crash_once_flag is not None and i == 3 and not self.crash_once_flag.exists():
                    self.crash_once_flag.write_text("crashed")
                    os._exit(1)  # the worker process dies mid-shard, leaving a temporary file behind
                out.write({"n": rec["n"] ** 2})
                n += 1
                progress(1)
        return {"records": n}

    def merge_parts(self, shard, num_parts):
        raise AssertionError("not split")


@pytest.fixture(scope="module")
def local_ray():
    # Ray workers cannot import pytest's test modules: ship this module's classes by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def make_inputs(root: Path, shards=3, per=8) -> Path:
    src = root / "in"
    src.mkdir()
    for s in range(shards):
        with JsonlWriter(src / f"shard_{s:05d}.jsonl") as w:
            w.write_many({"n": i} for i in range(per))
    return src


def outputs(out: Path) -> dict[str, list[int]]:
    return {p.name: [r["n"] for _, r in iter_jsonl(p)] for p in sorted(out.glob("*.jsonl.gz"))}


def test_ray_output_and_stats_equal_local(tmp_path, local_ray):
    src = make_inputs(tmp_path)
    local = LocalExecutor(workers=1, show_progress=False).run(SquareStage(src, tmp_path / "local"))
    remote = make_executor("ray", show_progress=False).run(SquareStage(src, tmp_path / "ray"))
    assert remote.ok and remote.stats == local.stats == {"records": 24}
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local")


def test_the_items_counter_moves_on_ray(tmp_path, local_ray, monkeypatch):
    """Items reported inside Ray tasks reach the driver's progress bar (not `items 0/?` to the end)."""
    from olmoasr.pipeline import executor as executor_module

    counted: list[int] = []
    monkeypatch.setattr(executor_module._Progress, "advance_items", lambda self, n: counted.append(n))
    report = make_executor("ray", show_progress=True).run(SquareStage(make_inputs(tmp_path), tmp_path / "out"))
    assert report.ok and sum(counted) == 24


def test_worker_killed_mid_shard_is_retried_without_duplicates(tmp_path, local_ray):
    src = make_inputs(tmp_path, shards=1, per=10)
    stage = SquareStage(src, tmp_path / "out", crash_once_flag=tmp_path / "crashed")
    report = make_executor("ray", show_progress=False).run(stage)
    assert (tmp_path / "crashed").exists()  # the first attempt really died
    assert report.ok and report.stats == {"records": 10}
    assert outputs(tmp_path / "out") == {"shard_00000.jsonl.gz": [i * i for i in range(10)]}


def test_started_on_ray_finished_locally_and_failures_reported(tmp_path, local_ray):
    src = make_inputs(tmp_path)
    stage = SquareStage(src, tmp_path / "out", always_fail="shard_00001")
    report = make_executor("ray", max_retries=1, show_progress=False).run(stage)
    assert [k for k, _ in report.failures] == ["shard_00001"]
    assert "disk on fire" in report.failures[0][1]
    assert marker_path(stage.output_dir, "square", "shard_00000").exists()
    stage.always_fail = None
    report = LocalExecutor(workers=1, show_progress=False).run(stage)  # finish the job on the other executor
    assert report.tasks_run == 1 and report.tasks_skipped == 2 and report.stats == {"records": 24}


def _normalised_records(root: Path) -> dict[str, list[dict]]:
    """Every JSONL output under `root`, with absolute paths into `root` made relative (they differ by design)."""
    import orjson

    out = {}
    for path in sorted(root.rglob("*.jsonl.gz")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        rows = []
        for _, rec in iter_jsonl(path):
            text = orjson.dumps(rec).decode().replace(str(root), "<OUT>")
            rows.append(orjson.loads(text))
        out[str(path.relative_to(root))] = rows
    return out


def test_real_pipeline_on_the_sample_shard_matches_local(tmp_path, local_ray):
    """prep jsonl -> prep segment -> tag doc -> filter: the Ray executor's outputs equal the local pool's."""
    from olmoasr.pipeline import filter_records, prep_jsonl, prep_segment, tag_documents
    from olmoasr.sample_data import extract_sample_shard

    raw = extract_sample_shard(tmp_path / "sample")
    for kind in ("local", "ray"):
        root = tmp_path / kind
        executor = make_executor(kind, workers=1, show_progress=False)
        assert prep_jsonl(raw, root / "docs", executor=executor).ok
        assert tag_documents(root / "docs", root / "tagged", "main_tagging", executor=executor) is not None
        assert prep_segment(root / "tagged", root / "segs", executor=executor).ok
        filter_records(root / "segs", root / "kept", "no_repeats_lang_eq", missing="pass", executor=executor)
    local, remote = _normalised_records(tmp_path / "local"), _normalised_records(tmp_path / "ray")
    assert set(local) == set(remote) and len(local) >= 4
    assert local == remote
    assert sum(len(v) for k, v in local.items() if k.startswith("kept")) > 0


def test_stages_give_ray_their_resource_hints(tmp_path):
    """Each data stage names what one task needs; tag lang's classifier asks for a GPU only on CUDA;
    `--cpus-per-task` / `--gpus-per-task` override."""
    from olmoasr.pipeline.lang_id.stages import ClassifyStage
    from olmoasr.pipeline.prep_segment import PrepSegmentStage, SegmentOptions
    from olmoasr.pipeline.ray_executor import RayExecutor

    executor = RayExecutor(max_retries=2)
    segment = executor._options(PrepSegmentStage(tmp_path, tmp_path / "out", SegmentOptions()))
    assert segment == {"num_cpus": 1, "num_gpus": 0, "max_retries": 2, "memory": 1 << 30}
    gpu = ClassifyStage((), tmp_path, "voxlingua107", "m", "cuda:0")
    cpu = ClassifyStage((), tmp_path, "voxlingua107", "m", "cpu")
    assert executor._options(gpu)["num_gpus"] == 1 and executor._options(cpu)["num_gpus"] == 0
    override = RayExecutor(cpus_per_task=3, gpus_per_task=0.5)._options(gpu)
    assert override["num_cpus"] == 3 and override["num_gpus"] == 0.5
