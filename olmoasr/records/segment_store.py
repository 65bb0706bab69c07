"""The segment store: lossless FLAC members in WebDataset-style tar containers, and readers for them.

`prep segment` writes each segment's 16 kHz mono audio as FLAC (16-bit, lossless) into uncompressed tar
files of N segments each (`<seg_id>.flac` members). A trainer streams a tar front to back
(`iter_container`) or reads one record's bytes directly: the segment record stores

- `audio_file`: the tar's ABSOLUTE path or full URL (`s3://...`; resolved when written, so records stay
  valid after `filter` or `sample` copy them to other directories; move the tar folder and the records
  must be rewritten),
- `audio_offset` / `audio_nbytes`: where the member's FLAC bytes sit inside the tar.

`load_segment_audio` also reads the original's `.npy` int16 segments, plain audio files, and records
whose `audio_file` is the source recording itself (`prep segment --text-only`): then the record's
`audio_timestamp` range is decoded from that file.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from olmoasr.audio import decode_window, load_audio, pcm16_to_float
from olmoasr.errors import AudioError
from olmoasr.io.atomic import temporary_sibling
from olmoasr.io.storage import absolute, as_path, is_remote, is_url, location_str, open_input, read_range, upload
from olmoasr.timestamps import parse_range_ms

CONTAINER_SUFFIX = ".tar"
MEMBER_SUFFIX = ".flac"
# A 30 s, 16 kHz mono segment is under 1 MB even as raw PCM; a record asking for more is damaged, and a
# ranged read of object storage must not be sized by it.
MAX_MEMBER_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class AudioLocation:
    """Where one segment's FLAC bytes live: fields of the segment record."""

    audio_file: str
    audio_offset: int
    audio_nbytes: int


# ------------------------------------------------------------------------------------------- writing


class ContainerWriter:
    """Writes segments into `<directory>/<prefix>-NNNNNN.tar`, `per_container` segments per tar.

    Everything goes to a temporary sibling directory that is renamed to `directory` by `close()`, so a
    container folder is either complete or absent (a killed run leaves only a temporary folder, which the
    executor removes). Locations returned by `add` already name the final, absolute paths. On object
    storage the temporary directory is local and `close()` uploads each finished tar whole.
    Members are written deterministically (mtime 0, no owner), so a re-run produces identical bytes.
    """

    def __init__(self, directory: str | os.PathLike[str], prefix: str, per_container: int = 1000):
        if per_container < 1:
            raise ValueError("per_container must be >= 1")
        self.directory = absolute(as_path(directory))
        self.prefix = prefix
        self.per_container = per_container
        if is_remote(self.directory):
            self._tmp_dir = Path(tempfile.mkdtemp(prefix=".olmoasr-containers-"))
        else:
            self._tmp_dir = temporary_sibling(self.directory)
            self._tmp_dir.mkdir(parents=True)
        self._tar: tarfile.TarFile | None = None
        self._in_current = 0
        self._index = -1
        self.count = 0
        self.nbytes = 0
        self._closed = False

    def _container_name(self, index: int) -> str:
        return f"{self.prefix}-{index:06d}{CONTAINER_SUFFIX}"

    def _next_tar(self) -> None:
        if self._tar is not None:
            self._tar.close()
        self._index += 1
        self._in_current = 0
        path = self._tmp_dir / self._container_name(self._index)
        self._tar = tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - closed by close()

    def add(self, seg_id: str, flac_bytes: bytes) -> AudioLocation:
        if self._tar is None or self._in_current >= self.per_container:
            self._next_tar()
        assert self._tar is not None
        info = tarfile.TarInfo(f"{seg_id}{MEMBER_SUFFIX}")
        info.size = len(flac_bytes)
        info.mtime = 0
        info.mode = 0o644
        self._tar.addfile(info, io.BytesIO(flac_bytes))
        # addfile works on a copy of `info`; the data ends at the archive offset, padded to a block.
        padded = -(-len(flac_bytes) // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
        data_offset = self._tar.offset - padded
        self._in_current += 1
        self.count += 1
        self.nbytes += len(flac_bytes)
        final_path = self.directory / self._container_name(self._index)
        return AudioLocation(location_str(final_path), data_offset, len(flac_bytes))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._tar is not None:
            self._tar.close()
        if is_remote(self.directory):
            try:
                for path in sorted(self._tmp_dir.iterdir()):
                    upload(path, self.directory / path.name)
            finally:
                shutil.rmtree(self._tmp_dir, ignore_errors=True)
            return
        for path in self._tmp_dir.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        if self.directory.exists():
            shutil.rmtree(self.directory)
        os.replace(self._tmp_dir, self.directory)

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._tar is not None:
            self._tar.close()
        shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def __enter__(self) -> ContainerWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class DocumentSpool:
    """Holds one document's encoded segments until the document is known to be good.

    A source file can turn out corrupt half-way through decoding; its segments must then not reach the
    containers (a trainer streaming a tar would see audio no record describes). Small documents stay in
    memory, long ones spill to a temporary file, so memory stays flat whatever the document's length.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, max_memory: int = 32 << 20):
        self._file = tempfile.SpooledTemporaryFile(max_size=max_memory, dir=directory)  # noqa: SIM115
        self._items: list[tuple[str, int, int]] = []
        self._pos = 0

    def add(self, seg_id: str, flac_bytes: bytes) -> None:
        self._file.write(flac_bytes)
        self._items.append((seg_id, self._pos, len(flac_bytes)))
        self._pos += len(flac_bytes)

    def __len__(self) -> int:
        return len(self._items)

    def drain_into(self, writer: ContainerWriter) -> dict[str, AudioLocation]:
        locations = {}
        for seg_id, offset, size in self._items:
            self._file.seek(offset)
            locations[seg_id] = writer.add(seg_id, self._file.read(size))
        self.clear()
        return locations

    def clear(self) -> None:
        self._file.seek(0)
        self._file.truncate()
        self._items.clear()
        self._pos = 0

    def close(self) -> None:
        self._file.close()


# ------------------------------------------------------------------------------------------- reading


def iter_container(tar_path: str | os.PathLike[str]) -> Iterator[tuple[str, bytes]]:
    """Stream `(seg_id, flac_bytes)` from a container (local or object storage), front to back, one
    sequential read."""
    with open_input(tar_path) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(MEMBER_SUFFIX):
                continue
            fh = tar.extractfile(member)
            if fh is None:
                continue
            yield member.name[: -len(MEMBER_SUFFIX)], fh.read()


def decode_flac(data: bytes) -> np.ndarray:
    """FLAC bytes of a segment -> float32 mono samples at 16 kHz."""
    return load_audio(data)


def _field(record: Any, name: str) -> Any:
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


def _npy_samples(path: str) -> np.ndarray:
    try:
        with open_input(path) as fh:
            data = np.load(io.BytesIO(fh.read()), allow_pickle=False)
    except FileNotFoundError:
        raise AudioError(path, "missing_audio", "segment audio file not found") from None
    except (OSError, ValueError) as err:
        raise AudioError(path, "corrupt_audio", f"cannot read .npy segment ({err})") from None
    if data.dtype == np.int16:
        return pcm16_to_float(data)
    return data.astype(np.float32)


def _member_bytes_by_name(tar_path: str, seg_id: str) -> bytes:
    name = f"{seg_id}{MEMBER_SUFFIX}"
    try:
        with open_input(tar_path) as raw, tarfile.open(fileobj=raw, mode="r") as tar:
            member = tar.getmember(name)
            fh = tar.extractfile(member)
            assert fh is not None
            return fh.read()
    except FileNotFoundError:
        raise AudioError(tar_path, "missing_audio", "segment container not found") from None
    except KeyError:
        raise AudioError(tar_path, "missing_audio", f"no member {name} in container") from None
    except tarfile.TarError as err:
        raise AudioError(tar_path, "corrupt_audio", f"cannot read container ({err})") from None


class SegmentAudioReader:
    """Reads segment audio for many records, keeping recently used container files open.

    A trainer reads thousands of records per tar in order; re-opening the tar for each would cost a
    syscall round trip and defeat read-ahead. Up to `max_open` files stay open (least recently used
    closed first). Not thread-safe: use one reader per data-loader worker.
    """

    def __init__(self, max_open: int = 8):
        self.max_open = max_open
        self._handles: OrderedDict[str, BinaryIO] = OrderedDict()

    def _handle(self, path: str) -> BinaryIO:
        fh = self._handles.get(path)
        if fh is not None:
            self._handles.move_to_end(path)
            return fh
        try:
            fh = open(path, "rb")  # noqa: SIM115 - kept open across records, closed in close()
        except FileNotFoundError:
            raise AudioError(path, "missing_audio", "segment container not found") from None
        except OSError as err:
            raise AudioError(path, "unreadable_audio", f"cannot read ({err.strerror or type(err).__name__})") from None
        self._handles[path] = fh
        while len(self._handles) > self.max_open:
            _, old = self._handles.popitem(last=False)
            old.close()
        return fh

    def read_bytes(self, record: Any) -> bytes:
        """The FLAC bytes of a container record (seek + read on a kept-open handle)."""
        path = _field(record, "audio_file")
        offset = _field(record, "audio_offset")
        nbytes = _field(record, "audio_nbytes")
        if not path:
            raise AudioError(str(_field(record, "seg_id")), "missing_audio", "record has no audio_file")
        if offset is None or nbytes is None:
            return _member_bytes_by_name(path, str(_field(record, "seg_id")))
        if (
            not isinstance(offset, int)
            or not isinstance(nbytes, int)
            or offset < 0
            or not 0 < nbytes <= MAX_MEMBER_BYTES
        ):
            raise AudioError(
                path, "bad_record", f"audio_offset {offset!r} / audio_nbytes {nbytes!r} cannot locate a segment"
            )
        if is_url(path):  # one ranged GET of exactly the member (a kept-open handle would read ahead MBs)
            try:
                data = read_range(path, offset, nbytes)
            except FileNotFoundError:
                raise AudioError(path, "missing_audio", "segment container not found") from None
        else:
            fh = self._handle(path)
            size = os.fstat(fh.fileno()).st_size
            if offset + nbytes > size:  # bounded by the container's real size before anything is allocated
                raise AudioError(path, "corrupt_audio", f"segment at byte {offset} + {nbytes} runs past the "
                                 f"container's end ({size} bytes)")  # fmt: skip
            fh.seek(offset)
            data = fh.read(nbytes)
        if len(data) != nbytes:
            raise AudioError(path, "corrupt_audio", f"container truncated at byte {offset + len(data)}")
        return data

    def read(self, record: Any) -> np.ndarray:
        """float32 16 kHz mono samples of one segment record (any supported storage)."""
        path = _field(record, "audio_file")
        if path and str(path).endswith(CONTAINER_SUFFIX):
            data = self.read_bytes(record)
            try:
                return decode_flac(data)
            except AudioError as err:
                raise AudioError(path, err.reason, f"segment {_field(record, 'seg_id')}: {err}") from None
        return load_segment_audio(record)

    def close(self) -> None:
        while self._handles:
            _, fh = self._handles.popitem()
            fh.close()

    def __enter__(self) -> SegmentAudioReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_segment_audio(record: Any, channel: int | None = None) -> np.ndarray:
    """One segment's audio as float32 16 kHz mono, from a record (dict or `SegmentRecord`).

    Storage is chosen by `audio_file`: a `.tar` container (our segments), a `.npy` int16 array (the
    original's segments), or any other audio file. A plain audio file is the segment itself, except for
    text-only segments (`audio_is_source: true`, written by `prep segment --text-only`): their
    `audio_file` is the source recording and `audio_timestamp` selects the window.
    """
    path = _field(record, "audio_file")
    if not path:
        raise AudioError(str(_field(record, "seg_id")), "missing_audio", "record has no audio_file")
    path = str(path)
    if path.endswith(CONTAINER_SUFFIX):
        with SegmentAudioReader(max_open=1) as reader:
            return reader.read(record)
    if path.endswith(".npy"):
        return _npy_samples(path)
    timestamp = _field(record, "audio_timestamp")
    if _field(record, "audio_offset") is None and isinstance(timestamp, str) and _is_source_window(record):
        start_ms, end_ms = parse_range_ms(timestamp)
        return decode_window(path, start_ms, end_ms, channel=channel)
    return load_audio(path, channel=channel)


def _is_source_window(record: Any) -> bool:
    """Text-only segments point at the whole source recording; `prep segment --text-only` marks them."""
    return bool(_field(record, "audio_is_source"))
