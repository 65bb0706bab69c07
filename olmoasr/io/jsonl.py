"""The project's one streaming JSONL reader/writer: `.jsonl`, `.jsonl.gz`, `.jsonl.zst`.

Reading never loads a whole file; a malformed line is reported as `file:line: reason`, counted, and
skipped, never fatal. Writing goes to a temporary name that is renamed only when the file is complete.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from olmoasr.io.atomic import temporary_sibling
from olmoasr.io.storage import AnyPath, as_path, is_remote, open_input, remote_files, upload, upload_temporary
from olmoasr.log import warn

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz")


@dataclass
class JsonlReadStats:
    """Counts of what a read saw; `bad_lines` keeps a few `file:line: reason` examples."""

    lines: int = 0
    records: int = 0
    malformed: int = 0
    bad_lines: list[str] = field(default_factory=list)

    def note_bad(self, where: str, max_examples: int = 20) -> None:
        self.malformed += 1
        if len(self.bad_lines) < max_examples:
            self.bad_lines.append(where)


def strip_jsonl_suffix(name: str) -> str:
    """`shard_00001.jsonl.gz` -> `shard_00001`."""
    for suffix in (".jsonl.gz", ".jsonl.zst", ".json.gz", ".jsonl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def jsonl_files(path: str | os.PathLike[str] | AnyPath) -> list[AnyPath]:
    """A JSONL file itself, or every JSONL file under a directory (recursively, sorted, no hidden files).
    Local paths give `Path`s; URLs (`s3://...`) give `UPath`s."""
    root = as_path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    if is_remote(root):  # one listing of the prefix, not a request per object
        return [
            p
            for rel, p in remote_files(root)
            if rel.endswith(JSONL_SUFFIXES) and not any(part.startswith(".") for part in rel.split("/"))
        ]
    found = [
        p
        for p in root.rglob("*")
        if p.name.endswith(JSONL_SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.is_file()
    ]
    return sorted(found, key=lambda p: p.parts)


class _ClosingGzipFile(gzip.GzipFile):
    """A gzip reader over an open stream that closes the stream too (gzip.open does so only for names)."""

    def __init__(self, raw: IO[bytes]):
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def open_text_read(path: str | os.PathLike[str] | AnyPath) -> IO[bytes]:
    """Open a possibly compressed file (local or object storage) for streaming binary reads, decompressing
    by suffix."""
    source = as_path(path)
    name = str(source)
    raw = open_input(source)
    if name.endswith(".gz"):
        return _ClosingGzipFile(raw)
    if name.endswith(".zst"):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)
    return raw


def iter_jsonl(
    path: str | os.PathLike[str],
    stats: JsonlReadStats | None = None,
    report: bool = True,
    first: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield `(line_number, record)` for every well-formed JSON object line of `path`.

    Blank lines are ignored. `first`/`stop` select non-blank lines by index (0-based, `stop` exclusive);
    lines outside are skipped without parsing (workers splitting one big file). A line that is not valid
    JSON, or not a JSON object, is counted in `stats.malformed` and reported on stderr as
    `path:line: reason`. A truncated compressed stream (a file cut off by a crash) is reported once and
    ends the iteration.
    """
    stats = stats if stats is not None else JsonlReadStats()
    line_no = 0
    nonblank = -1
    try:
        with open_text_read(path) as fh:
            for line_no, raw in enumerate(fh, start=1):  # noqa: B007 - line_no used after the loop
                stats.lines += 1
                if not raw.strip():
                    continue
                nonblank += 1
                if nonblank < first:
                    continue
                if stop is not None and nonblank >= stop:
                    break
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError as err:
                    where = f"{path}:{line_no}: malformed JSON ({err.msg})"
                    stats.note_bad(where)
                    if report:
                        warn(where)
                    continue
                if not isinstance(record, dict):
                    where = f"{path}:{line_no}: not a JSON object ({type(record).__name__})"
                    stats.note_bad(where)
                    if report:
                        warn(where)
                    continue
                stats.records += 1
                yield line_no, record
    except (EOFError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        where = f"{path}:{line_no + 1}: truncated or corrupt compressed stream ({err})"
        stats.note_bad(where)
        if report:
            warn(where)
    except Exception as err:  # zstandard raises its own error type for corrupt frames
        if type(err).__module__.startswith("zstandard") or "zstd" in type(err).__name__.lower():
            where = f"{path}:{line_no + 1}: corrupt zstd stream ({err})"
            stats.note_bad(where)
            if report:
                warn(where)
        else:
            raise


def _dump(record: Any) -> bytes:
    if hasattr(record, "to_json_bytes"):
        return record.to_json_bytes()
    if hasattr(record, "model_dump"):
        record = record.model_dump(mode="json", exclude_none=True)
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY)


class JsonlWriter:
    """Streaming JSONL writer; compression by suffix; atomic: the final name appears only on `close()`.

    Use as a context manager. If the block raises, the temporary file is removed and nothing appears.
    On object storage the temporary file is local and is uploaded whole by `close()`.
    """

    def __init__(self, path: str | os.PathLike[str] | AnyPath, compresslevel: int = 6):
        self.path = as_path(path)
        if is_remote(self.path):
            self._tmp = upload_temporary(self.path.name)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = temporary_sibling(self.path)
        self._raw = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        name = self.path.name
        self._zstd_writer = None
        if name.endswith(".gz"):
            self._fh: IO[bytes] = gzip.GzipFile(
                filename="", mode="wb", fileobj=self._raw, compresslevel=compresslevel, mtime=0
            )
        elif name.endswith(".zst"):
            import zstandard

            self._zstd_writer = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)
            self._fh = self._zstd_writer
        else:
            self._fh = self._raw
        self.count = 0
        self._closed = False

    def write(self, record: Any) -> None:
        self._fh.write(_dump(record) + b"\n")
        self.count += 1

    def write_many(self, records: Iterable[Any]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        if is_remote(self.path):
            try:
                upload(self._tmp, self.path)
            finally:
                self._tmp.unlink(missing_ok=True)
        else:
            os.replace(self._tmp, self.path)

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._fh is not self._raw:
                self._fh.close()
            self._raw.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
