"""A big shard split into line ranges gives the same records, stats and resumability as one task."""

from __future__ import annotations

import pytest

from olmoasr.pipeline import shard_parts
from olmoasr.pipeline.executor import LocalExecutor
from olmoasr.pipeline.filter_config import load_filter_config
from olmoasr.pipeline.filtering import FilteringStep
from olmoasr.pipeline.record_map import RecordMapStage
from olmoasr.pipeline.tagging import TaggingStep, load_tagging_config

from ._records import doc, read_shard, seg, vtt, write_shard


def record_stage(src, out, step, workers, rejects_dir=None):
    shards = tuple(shard_parts.plan_shards(src, out))
    return RecordMapStage(shards, out, (step,), rejects_dir=rejects_dir, workers=workers)


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(shard_parts, "PART_MIN_BYTES", 64)


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl", ".jsonl.zst"])
def test_split_tagging_equals_one_task(tmp_path, small_parts, suffix):
    records = [doc(f"d{i}", f"Caption {i}, said clearly.", "AND LOUDLY", mach=vtt(f"caption {i}")) for i in range(40)]
    src = tmp_path / "docs"
    write_shard(src / f"big{suffix}", records)
    with open(src / f"big{suffix}", "ab") as fh:  # a malformed line inside some part
        if suffix == ".jsonl":
            fh.write(b"{oops\n")
    config = load_tagging_config("main_tagging")
    whole = record_stage(src, tmp_path / "whole", TaggingStep(config), workers=1)
    split = record_stage(src, tmp_path / "split", TaggingStep(config), workers=4)
    tasks = split.plan()
    assert [t.num_parts for t in tasks] == [4, 4, 4, 4]
    first = LocalExecutor(workers=1, show_progress=False).run(whole)
    second = LocalExecutor(workers=1, show_progress=False).run(split)
    assert first.ok and second.ok
    assert read_shard(tmp_path / "split" / f"big{suffix}") == read_shard(tmp_path / "whole" / f"big{suffix}")
    volatile = [k for k in first.stats if k.startswith("cpu_seconds/")]
    assert {k: v for k, v in second.stats.items() if k not in volatile} == pytest.approx(
        {k: v for k, v in first.stats.items() if k not in volatile}
    )
    assert not list((tmp_path / "split" / shard_parts.PARTS_DIR).rglob("*.part-*"))
    assert (tmp_path / "split" / "big_stats.json").is_file()
    # the saved split is reused whatever the worker count of a re-run, and everything is skipped
    again = LocalExecutor(workers=1, show_progress=False).run(
        record_stage(src, tmp_path / "split", TaggingStep(config), workers=1)
    )
    assert again.tasks_run == 0 and again.tasks_skipped == 4


def test_split_filter_with_rejects_and_an_interrupted_merge(tmp_path, small_parts):
    records = [seg(f"v_{i}", "Hello there.", audio_lang="en", text_lang="en" if i % 3 else "fr") for i in range(60)]
    src = tmp_path / "segs"
    write_shard(src / "s.jsonl.gz", records)
    step = FilteringStep(load_filter_config("lang_align"))
    stage = record_stage(src, tmp_path / "kept", step, workers=3, rejects_dir=tmp_path / "rej")
    assert len(stage.plan()) == 3
    report = LocalExecutor(workers=1, show_progress=False).run(stage)
    assert report.ok and report.stats["records"] == 60 and report.stats["kept/records"] == 40
    assert [r["seg_id"] for r in read_shard(tmp_path / "kept" / "s.jsonl.gz")] == [f"v_{i}" for i in range(60) if i % 3]
    assert len(read_shard(tmp_path / "rej" / "s.jsonl.gz")) == 20
    # a crash after the merge but before the shard marker: the merge is found done, not redone from parts
    (tmp_path / "kept" / ".olmoasr" / stage.name / "s.done.json").unlink()
    again = LocalExecutor(workers=1, show_progress=False).run(stage)
    assert again.ok and again.stats == report.stats
