"""Tag and filter in one pass of the record-map stage equals `tag` then `filter`, with the same reports."""

from __future__ import annotations

import orjson

from olmoasr.pipeline.filtering import FUNNEL_FILE, filter_records
from olmoasr.pipeline.tagging import summary_path, tag_segments

from ._records import read_shard, seg, vtt, write_shard


def test_tag_then_filter_in_one_pass_equals_two_passes(tmp_path):
    records = []
    for i in range(30):
        captions = ("Hello there, friend.", "ALL CAPS HERE") if i % 4 == 0 else (f"Caption {i}, said clearly.",)
        mach = vtt("hello there friend") if i % 3 else vtt("something else entirely")
        tags = {"audio_lang": "en", "text_lang": "en", "edit_dist": 0.1, "casing": "upper" if i % 5 == 0 else "mixed"}
        records.append(seg(f"v{i}_0", *captions, repeating_lines=False, mach_seg_content=mach, **tags))
    src = tmp_path / "segs"
    write_shard(src / "a.jsonl.gz", records[:17])
    write_shard(src / "b.jsonl.gz", records[17:])

    two = tmp_path / "two"
    tagged = tag_segments(src, two / "tagged", show_progress=False, workers=1)
    filtered = filter_records(two / "tagged", two / "kept", rejects_dir=two / "rej", show_progress=False, workers=1)

    one = tmp_path / "one"
    both = tag_segments(
        src,
        one / "kept",
        show_progress=False,
        workers=1,
        filter_config="text_heurs_seg_edit_dist_edit_dist",
        rejects_dir=one / "rej",
    )
    assert both.ok and tagged.ok and filtered.ok
    assert 0 < filtered.funnel["kept"]["records"] < 30  # the config drops some and keeps some
    for shard in ("a.jsonl.gz", "b.jsonl.gz"):
        assert read_shard(one / "kept" / shard) == read_shard(two / "kept" / shard)
        assert read_shard(one / "rej" / shard) == read_shard(two / "rej" / shard)
    assert both.funnel == filtered.funnel
    assert orjson.loads((one / "kept" / FUNNEL_FILE).read_bytes()) == filtered.funnel
    volatile = {"tags"}  # per-tagger CPU seconds differ between runs
    one_summary = orjson.loads(summary_path(one / "kept", both.config).read_bytes())
    two_summary = orjson.loads(summary_path(two / "tagged", tagged.config).read_bytes())
    assert {k: v for k, v in one_summary.items() if k not in volatile} == {
        k: v for k, v in two_summary.items() if k not in volatile
    }
    assert {f: e["buckets"] for f, e in one_summary["tags"].items()} == {
        f: e["buckets"] for f, e in two_summary["tags"].items()
    }
