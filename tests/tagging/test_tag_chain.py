"""The whole text chain on the built-in sample shard: prep jsonl -> tag doc -> prep segment -> tag seg ->
audio_lang -> filter with the paper's best config. The bad pairs must go, the good pairs' speech must stay."""

from __future__ import annotations

import pytest

from olmoasr.io.jsonl import JsonlWriter, iter_jsonl, jsonl_files
from olmoasr.pipeline import filter_records, tag_documents, tag_segments

BAD_KINDS = ("all_caps", "repeating", "non_english", "mistranscribed")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    sample_data = pytest.importorskip("olmoasr.sample_data")
    from olmoasr.pipeline import prep_jsonl, prep_segment

    root = tmp_path_factory.mktemp("chain")
    raw = sample_data.extract_sample_shard(root)
    kinds = {p["id"]: p for p in sample_data.sample_manifest(raw)}
    prep_jsonl(raw, root / "docs", workers=1, show_progress=False)
    docs = tag_documents(root / "docs", root / "tagged_docs", "main_tagging", workers=1, show_progress=False)
    prep_segment(root / "tagged_docs", root / "segs", text_only=True, workers=1, show_progress=False)
    segs = tag_segments(root / "segs", root / "tagged_segs", "main_tagging_seg", workers=1, show_progress=False)
    # `audio_lang` comes from `tag lang` (an audio model); here the pair's known spoken language stands in.
    for path in jsonl_files(root / "tagged_segs"):
        rel = path.relative_to(root / "tagged_segs")
        with JsonlWriter(root / "lang_segs" / rel) as out:
            for _, record in iter_jsonl(path):
                out.write(record | {"audio_lang": kinds[record["id"]]["language"]})
    kept = filter_records(
        root / "lang_segs",
        root / "kept",
        "text_heurs_seg_edit_dist_edit_dist",
        rejects_dir=root / "rejects",
        workers=1,
        show_progress=False,
    )
    return root, kinds, docs, segs, kept


def records(directory):
    return [r for p in jsonl_files(directory) for _, r in iter_jsonl(p)]


def test_document_tags_match_each_pair_kind(chain):
    root, kinds, docs, _, _ = chain
    assert docs.ok
    for record in records(root / "tagged_docs"):
        kind = kinds[record["id"]]["kind"]
        assert (record["casing"] == "upper") == (kind == "all_caps"), record["id"]
        assert record["repeating_lines"] is (kind == "repeating"), record["id"]
        assert (record["text_lang"] == "en") == (kind != "non_english"), record["id"]
        assert record["text_lang"] == kinds[record["id"]]["text_lang"]
        assert (record["edit_dist"] > 0.5) == (kind == "mistranscribed"), record["id"]


def test_best_filter_drops_bad_pairs_and_keeps_good_speech(chain):
    root, kinds, _, segs, kept = chain
    assert segs.ok and kept.ok
    all_segments = records(root / "lang_segs")
    kept_ids = {r["seg_id"] for r in records(root / "kept")}
    for record in all_segments:
        kind = kinds[record["id"]]["kind"]
        if kind in BAD_KINDS:
            assert record["seg_id"] not in kept_ids, (kind, record["seg_id"])
        elif kind == "good" and record["seg_text"]:
            assert record["seg_id"] in kept_ids, record["seg_id"]
    reasons = {r["id"]: r["_drop_reason"] for r in records(root / "rejects")}
    expected = {
        "all_caps": "casing",
        "repeating": "repeating_lines",
        "non_english": "audio_lang",
        "mistranscribed": "edit_dist",
    }
    for pair_id, pair in kinds.items():
        if pair["kind"] in expected:
            assert reasons[pair_id] == expected[pair["kind"]], pair_id
    assert kept.funnel["kept"]["records"] == len(kept_ids) > 0
    assert kept.funnel["input"]["records"] == len(all_segments)
