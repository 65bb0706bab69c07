"""The data stages read and write object storage (`s3://`) through fsspec, with the same outputs, markers and
resume behaviour as on local disk. The S3 server is moto's, started by the test on loopback."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import numpy as np
import orjson
import pytest

from olmoasr.errors import UsageError
from olmoasr.io import JsonlWriter, iter_jsonl, jsonl_files
from olmoasr.io.storage import as_path, read_range

s3fs = pytest.importorskip("s3fs", reason="s3fs not installed (pip install 'olmoasr[cloud]')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] not installed (pip install 'olmoasr[dev]')")


@pytest.fixture(scope="session")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch):
    """`s3://<fresh bucket>`; the variables reach worker processes, which inherit the environment."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": s3_endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()
    name = f"olmoasr-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem().mkdir(name)
    yield f"s3://{name}"
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(autouse=True)
def _quiet_server_log():
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _fs():
    return s3fs.S3FileSystem()


def _records(root, prefix: str) -> dict[str, list[dict]]:
    """Every visible JSONL output under `root` (local or s3), with `prefix` (where the run lived) made `<ROOT>`."""
    root = as_path(root)
    out = {}
    for path in jsonl_files(root):
        rows = []
        for _, rec in iter_jsonl(path):
            rows.append(orjson.loads(orjson.dumps(rec).decode().replace(prefix, "<ROOT>")))
        out[path.relative_to(root).as_posix()] = rows
    return out


def _counts(stats: dict) -> dict:
    """Stats without the timings (which differ from run to run)."""
    return {k: v for k, v in stats.items() if not k.startswith("cpu_seconds")}


def _run_pipeline(root: str, raw: str, workers: int) -> dict[str, dict]:
    from olmoasr.pipeline import filter_records, prep_jsonl, prep_segment, tag_documents, tag_segments

    reports = {
        "prep_jsonl": prep_jsonl(raw, f"{root}/docs", workers=workers, show_progress=False),
        "tag_doc": tag_documents(f"{root}/docs", f"{root}/tagged", "main_tagging", workers, False).report,
        "prep_segment": prep_segment(f"{root}/tagged", f"{root}/segs", workers=workers, show_progress=False),
        "tag_seg": tag_segments(f"{root}/segs", f"{root}/tagged_segs", "main_tagging_seg", workers, False).report,
    }
    reports["filter"] = filter_records(
        f"{root}/tagged_segs",
        f"{root}/kept",
        "text_heurs_seg_edit_dist_edit_dist",
        missing="pass",
        rejects_dir=f"{root}/dropped",
        workers=workers,
        show_progress=False,
    ).report
    return reports


class LoudnessClassifier:
    """Deterministic stand-in for a language-ID model: `en` for louder segments, `de` for quieter ones."""

    def classify(self, waveforms):
        from olmoasr.pipeline.lang_id.backends import Prediction

        return [Prediction("en" if float(np.abs(w).mean()) > 0.05 else "de", 1.0) for w in waveforms]


def _tag_lang(root: str):
    from olmoasr.pipeline.lang_id import LangIdOptions, tag_audio_language

    options = LangIdOptions(batch_size=4, device="cpu", workers=1)
    return tag_audio_language(
        f"{root}/segs",
        f"{root}/lang",
        options,
        docs=f"{root}/docs",
        docs_output_dir=f"{root}/lang_docs",
        classifier=LoudnessClassifier(),
        show_progress=False,
    )


def _sample(root: str) -> dict:
    from olmoasr.pipeline import sample_records

    result = sample_records(f"{root}/kept", f"{root}/mix", count=10, seed=3, shard_size=4)
    return {k: v for k, v in vars(result).items() if k not in ("output_dir", "skipped")}


def test_pipeline_on_s3_equals_the_local_run(tmp_path, s3_bucket):
    from olmoasr.records.segment_store import load_segment_audio
    from olmoasr.sample_data import extract_sample_shard

    local_root = tmp_path / "local"
    raw = extract_sample_shard(local_root / "raw")
    remote_raw = f"{s3_bucket}/{raw.relative_to(local_root).as_posix()}"
    _fs().put(str(raw), remote_raw, recursive=True)

    local = _run_pipeline(str(local_root), str(raw), workers=1)
    remote = _run_pipeline(s3_bucket, remote_raw, workers=2)
    assert _sample(str(local_root)) == _sample(s3_bucket)
    local_lang, remote_lang = _tag_lang(str(local_root)), _tag_lang(s3_bucket)
    assert remote_lang.summary["documents_by_audio_lang"] == local_lang.summary["documents_by_audio_lang"]
    assert remote_lang.summary["segments_classified"] == local_lang.summary["segments_classified"] > 0
    for stage, report in remote.items():
        assert report.ok, (stage, report.failures)
        assert _counts(report.stats) == pytest.approx(_counts(local[stage].stats)), stage

    local_records = _records(local_root, str(local_root.resolve()))
    remote_records = _records(s3_bucket, s3_bucket)
    assert set(local_records) == set(remote_records)
    assert sum(len(v) for k, v in remote_records.items() if k.startswith("mix/")) == 10
    assert local_records == remote_records
    kept = remote_records[next(k for k in remote_records if k.startswith("kept/"))]
    assert kept and all(r["audio_file"].startswith("<ROOT>/segs/audio/") for r in kept)

    # A segment's audio reads back from the bucket (one ranged GET) exactly as from local disk.
    remote_seg = next(iter_jsonl(next(p for p in jsonl_files(f"{s3_bucket}/kept"))))[1]
    local_seg = dict(remote_seg, audio_file=remote_seg["audio_file"].replace(s3_bucket, str(local_root.resolve())))
    assert np.array_equal(load_segment_audio(remote_seg), load_segment_audio(local_seg))
    assert len(read_range(remote_seg["audio_file"], remote_seg["audio_offset"], 4)) == 4

    # Re-running finds every shard's completion marker in the bucket and does nothing.
    again = _run_pipeline(s3_bucket, remote_raw, workers=2)
    assert all(r.tasks_run == 0 for r in again.values())
    assert again["filter"].stats == remote["filter"].stats


def test_a_failed_write_leaves_no_object(s3_bucket):
    target = f"{s3_bucket}/out/shard.jsonl.gz"
    with pytest.raises(RuntimeError), JsonlWriter(target) as out:
        out.write({"n": 1})
        raise RuntimeError("killed mid-shard")
    assert not _fs().exists(target)
    with JsonlWriter(target) as out:
        out.write({"n": 2})
    assert gzip.decompress(_fs().cat_file(target)) == b'{"n":2}\n'


def test_a_shard_interrupted_on_s3_is_redone_on_rerun(s3_bucket):
    """Outputs without a marker (a task killed after its upload, before its marker) are redone, once."""
    from olmoasr.pipeline import tag_documents

    with JsonlWriter(f"{s3_bucket}/docs/shard_00000.jsonl.gz") as out:
        out.write_many({"id": f"d{i}", "content": "Hello there. This is a test.", "length": 3.0} for i in range(5))
    first = tag_documents(f"{s3_bucket}/docs", f"{s3_bucket}/tagged", "main_tagging", 1, False)
    assert first.report.tasks_run == 1
    markers = [p for p in _fs().find(f"{s3_bucket}/tagged") if p.endswith(".done.json")]
    assert len(markers) == 1
    _fs().rm(markers[0])
    again = tag_documents(f"{s3_bucket}/docs", f"{s3_bucket}/tagged", "main_tagging", 1, False)
    assert again.report.tasks_run == 1 and again.report.stats == first.report.stats
    assert [r["id"] for _, r in iter_jsonl(f"{s3_bucket}/tagged/shard_00000.jsonl.gz")] == [f"d{i}" for i in range(5)]


def test_unknown_scheme_and_missing_input_are_one_line(s3_bucket, tmp_path):
    from olmoasr.pipeline import prep_segment

    with pytest.raises(UsageError, match=r"^nosuchfs://bucket/x: no filesystem for nosuchfs://"):
        as_path("nosuchfs://bucket/x")
    with pytest.raises(UsageError, match="nothing-here: input not found"):
        prep_segment(f"{s3_bucket}/nothing-here", tmp_path / "segs", show_progress=False)
    assert isinstance(as_path(f"file://{tmp_path}"), Path) and as_path(f"file://{tmp_path}") == tmp_path


def test_unreachable_storage_is_one_line_from_the_cli(monkeypatch, capsys):
    import socket

    from olmoasr.cli.main import run

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        assert run(["prep", "segment", "s3://bucket/docs", "-o", "s3://bucket/segs", "-q"]) == 1
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: object storage: ") and f":{port}" in err[0]


def test_missing_and_empty_remote_audio_are_typed_errors(s3_bucket):
    from olmoasr.audio import probe_duration
    from olmoasr.errors import AudioError

    _fs().pipe_file(f"{s3_bucket}/a/empty.wav", b"")
    for name, reason in (("missing.wav", "missing_audio"), ("empty.wav", "empty_audio")):
        with pytest.raises(AudioError) as err:
            probe_duration(f"{s3_bucket}/a/{name}")
        assert err.value.reason == reason and str(err.value).startswith(f"{s3_bucket}/a/{name}: ")
