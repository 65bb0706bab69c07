"""`tag lang` on what `prep segment` really writes: FLAC members in tar containers (the sample shard)."""

from __future__ import annotations

import pytest

from olmoasr.io import JsonlWriter, iter_jsonl, jsonl_files
from olmoasr.pipeline import LangIdOptions, prep_jsonl, prep_segment, tag_audio_language


@pytest.fixture(scope="module")
def prepped(tmp_path_factory):
    sample_data = pytest.importorskip("olmoasr.sample_data")
    root = tmp_path_factory.mktemp("lang-chain")
    raw = sample_data.extract_sample_shard(root)
    prep_jsonl(raw, root / "docs", workers=1, show_progress=False)
    prep_segment(root / "docs", root / "segs", workers=1, show_progress=False)
    return root


def test_container_segments_are_classified_and_every_document_gets_one_language(prepped, micro_model_dir):
    root = prepped
    segments = [r for p in jsonl_files(root / "segs") for _, r in iter_jsonl(p)]
    assert segments and all(r["audio_file"].endswith(".tar") for r in segments)
    # One segment points past the end of its container: counted as an audio error, never a vote.
    broken = dict(segments[0], seg_id="broken_0", id="broken", audio_offset=10**9)
    with JsonlWriter(root / "segs_plus" / "extra.jsonl") as out:
        out.write(broken)
    for path in jsonl_files(root / "segs"):
        (root / "segs_plus" / path.name).write_bytes(path.read_bytes())
    report = tag_audio_language(
        root / "segs_plus",
        root / "lang",
        LangIdOptions(model=str(micro_model_dir), batch_size=4, device="cpu", workers=1),
        docs=root / "docs",
        docs_output_dir=root / "docs_lang",
        show_progress=False,
    )
    s = report.summary
    speech = [r for r in segments if r["seg_content"].strip() and r["num_tokens_no_ts_mode"] > 0]
    assert s["segments_classified"] == len(speech) > 0
    assert s["segments_audio_error"] == {"corrupt_audio": 1}
    assert s["documents_without_audio_lang"] == 1  # the broken one
    tagged = [r for p in jsonl_files(root / "lang") for _, r in iter_jsonl(p)]
    by_doc: dict[str, set] = {}
    for record in tagged:
        by_doc.setdefault(record["id"], set()).add(record["audio_lang"])
    assert by_doc.pop("broken") == {None}
    assert all(len(langs) == 1 and None not in langs for langs in by_doc.values())
    docs = {r["id"]: r["audio_lang"] for p in jsonl_files(root / "docs_lang") for _, r in iter_jsonl(p)}
    assert docs == {doc: langs.pop() for doc, langs in by_doc.items()}
