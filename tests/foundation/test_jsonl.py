import gzip

import pytest

from olmoasr.io import JsonlReadStats, JsonlWriter, iter_jsonl, jsonl_files, strip_jsonl_suffix


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_round_trip_each_compression(tmp_path, suffix):
    path = tmp_path / f"shard_00001{suffix}"
    records = [{"id": f"r{i}", "text": "héllo ✓", "n": i} for i in range(100)]
    with JsonlWriter(path) as writer:
        writer.write_many(records)
    assert [r for _, r in iter_jsonl(path)] == records
    assert not list(tmp_path.glob(".*tmp*"))


def test_malformed_lines_are_counted_and_reported_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write('{"id": "a"}\n{"id": \n\n[1, 2]\n{"id": "b"}\n')
    stats = JsonlReadStats()
    got = list(iter_jsonl(path, stats))
    assert [(n, r["id"]) for n, r in got] == [(1, "a"), (5, "b")]
    assert stats.malformed == 2 and stats.records == 2
    err = capsys.readouterr().err
    assert f"{path}:2: malformed JSON" in err
    assert f"{path}:4: not a JSON object" in err


def test_truncated_gzip_is_reported_not_fatal(tmp_path, capsys):
    path = tmp_path / "cut.jsonl.gz"
    with JsonlWriter(path) as writer:
        writer.write_many({"id": str(i), "pad": "x" * 50} for i in range(2000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    stats = JsonlReadStats()
    got = list(iter_jsonl(path, stats))
    assert 0 < len(got) < 2000
    assert stats.malformed >= 1
    assert "truncated" in capsys.readouterr().err


def test_writer_leaves_nothing_when_the_block_fails(tmp_path):
    path = tmp_path / "out.jsonl.gz"
    with pytest.raises(RuntimeError), JsonlWriter(path) as writer:
        writer.write({"id": "1"})
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_jsonl_files_recurses_and_skips_hidden(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / ".olmoasr").mkdir()
    for p in ["a/x.jsonl.gz", "y.jsonl", ".olmoasr/z.jsonl", "notes.txt"]:
        (tmp_path / p).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in jsonl_files(tmp_path)] == ["a/x.jsonl.gz", "y.jsonl"]
    assert strip_jsonl_suffix("shard_00001.jsonl.zst") == "shard_00001"
