"""Segment audio containers: lossless round trip, offsets, streaming, kept-open reader, other storages."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from olmoasr.audio import decode_window, encode_flac, load_audio, write_audio
from olmoasr.errors import AudioError
from olmoasr.records.segment_store import (
    ContainerWriter,
    DocumentSpool,
    SegmentAudioReader,
    iter_container,
    load_segment_audio,
)


def pcm16_noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Float samples that are exact 16-bit values, so a lossless round trip compares with ==."""
    rng = np.random.default_rng(seed)
    x = np.clip(rng.standard_normal(int(seconds * 16000)) * 0.1, -1, 0.99)
    return (np.round(x * 32768) / 32768).astype(np.float32)


def write_segments(tmp_path, signals, per_container=2, long_id=False):
    records = []
    with ContainerWriter(tmp_path / "audio" / "shard_00000", "shard_00000", per_container) as writer:
        for i, signal in enumerate(signals):
            seg_id = ("a" * 150 if long_id and i == 1 else "doc") + f"_{i}"
            loc = writer.add(seg_id, encode_flac(signal))
            records.append(
                {
                    "seg_id": seg_id,
                    "audio_file": loc.audio_file,
                    "audio_offset": loc.audio_offset,
                    "audio_nbytes": loc.audio_nbytes,
                }
            )
    return records


def test_containers_round_trip_losslessly_with_offsets(tmp_path):
    signals = [pcm16_noise(1 + i * 0.5, seed=i) for i in range(5)]
    records = write_segments(tmp_path, signals, per_container=2, long_id=True)
    folder = tmp_path / "audio" / "shard_00000"
    assert sorted(os.listdir(folder)) == [f"shard_00000-00000{k}.tar" for k in range(3)]
    assert all(os.path.isabs(r["audio_file"]) for r in records)
    assert [r["audio_file"].endswith(f"-00000{i // 2}.tar") for i, r in enumerate(records)] == [True] * 5
    with SegmentAudioReader(max_open=2) as reader:
        for record, signal in zip(records, signals, strict=True):
            np.testing.assert_array_equal(reader.read(record), signal)
            with open(record["audio_file"], "rb") as fh:
                fh.seek(record["audio_offset"])
                assert fh.read(4) == b"fLaC"
    for record, signal in zip(records, signals, strict=True):
        np.testing.assert_array_equal(load_segment_audio(record), signal)
    # without offsets the member is found by name
    bare = {"seg_id": records[3]["seg_id"], "audio_file": records[3]["audio_file"]}
    np.testing.assert_array_equal(load_segment_audio(bare), signals[3])


def test_iter_container_streams_members_in_order(tmp_path):
    signals = [pcm16_noise(0.5, seed=i) for i in range(3)]
    records = write_segments(tmp_path, signals, per_container=10)
    items = list(iter_container(records[0]["audio_file"]))
    assert [seg_id for seg_id, _ in items] == ["doc_0", "doc_1", "doc_2"]
    np.testing.assert_array_equal(load_audio(items[2][1]), signals[2])
    with tarfile.open(records[0]["audio_file"]) as tar:  # a standard tar any tool can list
        assert [m.name for m in tar.getmembers()] == ["doc_0.flac", "doc_1.flac", "doc_2.flac"]
        assert all(m.mtime == 0 for m in tar.getmembers())


def test_containers_are_byte_identical_across_runs(tmp_path):
    signals = [pcm16_noise(0.5, seed=i) for i in range(3)]
    a = write_segments(tmp_path / "a", signals)
    b = write_segments(tmp_path / "b", signals)
    for ra, rb in zip(a, b, strict=True):
        assert Path(ra["audio_file"]).read_bytes() == Path(rb["audio_file"]).read_bytes()


def test_aborted_writer_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), ContainerWriter(tmp_path / "c", "x") as writer:
        writer.add("s_0", encode_flac(pcm16_noise(0.2)))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_spool_keeps_a_document_out_until_drained(tmp_path):
    spool = DocumentSpool(tmp_path, max_memory=1000)  # spills to disk
    first = pcm16_noise(0.5)
    spool.add("d_0", encode_flac(first))
    spool.clear()  # the document failed: nothing reaches the container
    spool.add("e_0", encode_flac(first))
    with ContainerWriter(tmp_path / "c", "x") as writer:
        locations = spool.drain_into(writer)
    spool.close()
    assert list(locations) == ["e_0"]
    assert [k for k, _ in iter_container(locations["e_0"].audio_file)] == ["e_0"]


def test_reads_original_npy_segments(tmp_path):
    samples = (pcm16_noise(0.3) * 32768).astype(np.int16)
    path = tmp_path / "00:00:01,000_00:00:31,000.npy"
    np.save(path, samples)
    out = load_segment_audio({"seg_id": "v_0", "audio_file": str(path)})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, samples.astype(np.float32) / 32768)


@pytest.mark.parametrize("suffix", [".flac", ".mp3", ".m4a", ".ogg"])
def test_source_window_equals_a_slice_of_the_full_decode(tmp_path, suffix):
    path = tmp_path / f"long{suffix}"
    write_audio(path, pcm16_noise(80, seed=3))
    full = load_audio(path)
    for start_ms in (2_000, 63_250):  # decoded from the start / seeked
        record = {
            "seg_id": "x_1",
            "audio_file": str(path),
            "audio_is_source": True,
            "audio_timestamp": f"00:{start_ms // 60000:02d}:{start_ms // 1000 % 60:02d},{start_ms % 1000:03d}"
            f"_00:01:10,000",
        }
        first = start_ms * 16
        expected = full[first : 70 * 16000]
        np.testing.assert_array_equal(load_segment_audio(record), expected)
    assert len(decode_window(str(path), 5000, 5000)) == 0


def test_missing_container_is_a_typed_error(tmp_path):
    with pytest.raises(AudioError) as info:
        load_segment_audio(
            {"seg_id": "a_0", "audio_file": str(tmp_path / "nope.tar"), "audio_offset": 0, "audio_nbytes": 10}
        )
    assert info.value.reason == "missing_audio"
    with pytest.raises(AudioError):
        load_segment_audio({"seg_id": "a_0"})


def test_source_window_of_a_44k_stereo_file_keeps_the_resampling_phase(tmp_path):
    from .helpers import write_media

    path = tmp_path / "stereo.wav"
    write_media(path, "stereo44k.wav", 75)
    full = load_audio(path)
    for start_ms in (61_003, 64_250):
        expected = full[start_ms * 16 : 70 * 16000]
        np.testing.assert_array_equal(decode_window(str(path), start_ms, 70_000), expected)


def test_seeked_window_reaching_the_end_has_the_full_decodes_tail(tmp_path):
    # The resampler is flushed after the last frame, as in a full decode: no samples go missing at the end.
    from .helpers import write_media

    path = tmp_path / "stereo.wav"
    write_media(path, "stereo44k.wav", 65)
    full = load_audio(path)
    np.testing.assert_array_equal(decode_window(str(path), 61_000, 70_000), full[61_000 * 16 :])


def test_seeked_window_checks_the_channel(tmp_path):
    path = tmp_path / "mono.flac"
    write_audio(path, pcm16_noise(62))
    for start_ms in (1_000, 61_000):  # decoded from the start / seeked
        with pytest.raises(AudioError) as info:
            decode_window(str(path), start_ms, start_ms + 500, channel=1)
        assert info.value.reason == "bad_channel"
