"""`sample`: reproducible across all shards, hour accuracy, count mode, streaming outputs; `--stats`."""

from __future__ import annotations

import random

import orjson
import pytest

from olmoasr.errors import UsageError
from olmoasr.io.jsonl import jsonl_files
from olmoasr.pipeline.sampling import MANIFEST, sample_records, tag_stats

from ._records import read_shard, seg, write_shard


def make_pool(root, shards=4, per=250, seed=1):
    rng = random.Random(seed)
    durations = {}
    for s in range(shards):
        records = []
        for i in range(per):
            seconds = rng.choice([30.0, 30.0, 30.0, 12.5, 4.0])
            record = seg(f"v{s}_{i}", "Hello.", seconds=seconds, edit_dist=round(rng.random(), 3))
            durations[record["seg_id"]] = seconds
            records.append(record)
        write_shard(root / f"shard_{s:05d}.jsonl.gz", records)
    return durations


def sampled_ids(out):
    return [r["seg_id"] for p in jsonl_files(out) for r in read_shard(p)]


def test_hours_are_hit_within_one_segment_and_reproducible(tmp_path):
    durations = make_pool(tmp_path / "pool")
    result = sample_records(tmp_path / "pool", tmp_path / "a", hours=2.0, seed=7, shard_size=100, workers=1)
    ids = sampled_ids(tmp_path / "a")
    total = sum(durations[i] for i in ids)
    assert 2.0 * 3600 - max(durations.values()) < total <= 2.0 * 3600
    assert result.hours == pytest.approx(total / 3600) and result.records == len(ids) == len(set(ids))
    assert result.input_records == 1000
    # the mix draws from every shard, not a per-file quota
    assert {i.split("_")[0] for i in ids} == {"v0", "v1", "v2", "v3"}
    same = sample_records(tmp_path / "pool", tmp_path / "b", hours=2.0, seed=7, shard_size=100, workers=1)
    assert sampled_ids(tmp_path / "b") == ids and same.shards == result.shards
    for name in result.shards:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = sample_records(tmp_path / "pool", tmp_path / "c", hours=2.0, seed=8, workers=1)
    assert set(sampled_ids(tmp_path / "c")) != set(ids)
    assert other.hours * 3600 > 2.0 * 3600 - 30


def test_sample_does_not_depend_on_how_records_are_sharded(tmp_path):
    make_pool(tmp_path / "pool", shards=2, per=100)
    records = [r for p in jsonl_files(tmp_path / "pool") for r in read_shard(p)]
    write_shard(tmp_path / "one" / "all.jsonl", records)
    sample_records(tmp_path / "pool", tmp_path / "a", count=37, seed=3, workers=1)
    sample_records(tmp_path / "one", tmp_path / "b", count=37, seed=3, workers=1)
    assert sorted(sampled_ids(tmp_path / "a")) == sorted(sampled_ids(tmp_path / "b"))


def test_count_mode_shards_and_rerun(tmp_path):
    make_pool(tmp_path / "pool")
    result = sample_records(tmp_path / "pool", tmp_path / "out", count=250, seed=0, shard_size=100, workers=1)
    assert result.records == 250 and result.shards == ["mix_00000.jsonl.gz", "mix_00001.jsonl.gz", "mix_00002.jsonl.gz"]
    assert [len(read_shard(tmp_path / "out" / n)) for n in result.shards] == [100, 100, 50]
    manifest = orjson.loads((tmp_path / "out" / MANIFEST).read_bytes())
    assert manifest["result"]["records"] == 250
    again = sample_records(tmp_path / "pool", tmp_path / "out", count=250, seed=0, shard_size=100, workers=1)
    assert again.skipped and sampled_ids(tmp_path / "out") == sampled_ids(tmp_path / "out")
    smaller = sample_records(tmp_path / "pool", tmp_path / "out", count=20, seed=0, shard_size=100, workers=1)
    assert not smaller.skipped and len(sampled_ids(tmp_path / "out")) == 20  # stale shards were replaced
    everything = sample_records(tmp_path / "pool", tmp_path / "all", count=5000, workers=1)
    assert everything.records == 1000


def test_a_count_prefix_is_stable(tmp_path):
    make_pool(tmp_path / "pool", shards=2, per=100)
    sample_records(tmp_path / "pool", tmp_path / "small", count=10, seed=5, workers=1)
    sample_records(tmp_path / "pool", tmp_path / "big", count=40, seed=5, workers=1)
    assert set(sampled_ids(tmp_path / "small")) <= set(sampled_ids(tmp_path / "big"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of --hours or --count"),
        ({"hours": 1.0, "count": 3}, "exactly one of --hours or --count"),
        ({"hours": -1.0}, "--hours must be positive"),
        ({"count": 0}, "--count must be positive"),
        ({"count": 3, "shard_size": 0}, "--shard-size must be positive"),
    ],
)
def test_bad_sample_requests(tmp_path, kwargs, message):
    make_pool(tmp_path / "pool", shards=1, per=5)
    with pytest.raises(UsageError, match=message):
        sample_records(tmp_path / "pool", tmp_path / "out", **kwargs)


def test_tag_stats_exact_and_reservoir(tmp_path):
    values = list(range(1001))
    random.Random(0).shuffle(values)
    records = [{"seg_id": f"s{i}", "edit_dist": v / 1000} for i, v in enumerate(values)]
    records += [{"seg_id": "none"}, {"seg_id": "str", "edit_dist": "x"}, {"seg_id": "b", "edit_dist": True}]
    write_shard(tmp_path / "t" / "a.jsonl", records[:500])
    write_shard(tmp_path / "t" / "b.jsonl.gz", records[500:])
    exact = tag_stats(tmp_path / "t", "edit_dist")
    assert exact.exact and exact.values == 1001 and exact.missing == 1 and exact.non_numeric == 2
    assert [p for p, _ in exact.percentiles] == list(range(101))
    assert exact.percentiles[0][1] == 0.0 and exact.percentiles[50][1] == 0.5 and exact.percentiles[100][1] == 1.0
    assert exact.percentiles[90][1] == pytest.approx(0.9)
    approx = tag_stats(tmp_path / "t", "edit_dist", cap=200, seed=1)
    assert not approx.exact and approx.sample_size == 200
    assert approx.percentiles[50][1] == pytest.approx(0.5, abs=0.1)
    assert tag_stats(tmp_path / "t", "edit_dist", cap=200, seed=1) == approx  # seeded: reproducible
    assert exact.counts == {"true": 1, "x": 1} and exact.mean == pytest.approx(0.5)


def test_tag_stats_counts_categorical_values_and_rejects_unknown_tags(tmp_path):
    langs = ["en"] * 5 + ["fr"] * 2 + ["de"] * 2 + [None]
    records = [{"seg_id": f"s{i}", "audio_lang": lang, "repeating_lines": i % 3 == 0} for i, lang in enumerate(langs)]
    write_shard(tmp_path / "t" / "a.jsonl", [*records, {"seg_id": "bare"}])
    langs_stats = tag_stats(tmp_path / "t", "audio_lang")
    assert list(langs_stats.counts.items()) == [("en", 5), ("de", 2), ("fr", 2)]  # most frequent, then by value
    assert langs_stats.missing == 2 and langs_stats.records == 11
    assert langs_stats.values == 0 and langs_stats.percentiles == [] and langs_stats.mean is None
    assert tag_stats(tmp_path / "t", "repeating_lines").counts == {"false": 6, "true": 4}
    capped = tag_stats(tmp_path / "t", "audio_lang", cap=2)
    assert capped.counts == {"en": 5, "fr": 2} and capped.uncounted == 2  # `de` came third
    with pytest.raises(UsageError, match=r"no record has a field `audio_lng` \(fields there: audio_lang, "):
        tag_stats(tmp_path / "t", "audio_lng")


def test_parallel_passes_give_the_same_mix(tmp_path, monkeypatch):
    from olmoasr.pipeline import sampling

    make_pool(tmp_path / "pool", shards=3, per=60)
    sequential = sample_records(tmp_path / "pool", tmp_path / "a", count=50, seed=2, workers=1)
    monkeypatch.setattr(sampling, "PARALLEL_MIN_BYTES", 0)
    parallel = sample_records(tmp_path / "pool", tmp_path / "b", count=50, seed=2, workers=2)
    assert parallel.records == sequential.records == 50
    for name in sequential.shards:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
