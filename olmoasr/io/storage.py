"""Where data lives: local paths, or object storage (`s3://`, `gs://`, ...) through fsspec.

Every data stage takes its input and output locations through `as_path`, which gives a `pathlib.Path`
for a local path and a `UPath` (universal_pathlib: the pathlib API over any fsspec filesystem) for a URL,
so the stages' code is the same for both. What pathlib cannot do on object storage is here:

- Object stores have no rename. A remote output is written to a local temporary file and uploaded with
  one PUT when complete (`local_staging`): an object appears whole or not at all, which is the same
  guarantee the local write-then-rename gives, so completion markers keep their meaning.
- Byte ranges (`read_range`) and streaming reads (`open_input`) for audio inside containers.

Credentials and endpoints come from the filesystem's usual settings (for S3: `AWS_*` variables,
`AWS_ENDPOINT_URL` for S3-compatible servers, `~/.aws`); `pip install 'olmoasr[cloud]'` adds s3fs,
`olmoasr[gcs]` gcsfs.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from olmoasr.errors import UsageError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

AnyPath = Any  # pathlib.Path or upath.UPath: both offer the pathlib API used by the stages


def is_url(location: object) -> bool:
    """True for `scheme://...` locations other than `file://` (which are local paths)."""
    if is_remote(location):
        return True
    text = str(location)
    return bool(_URL.match(text)) and not text.startswith("file://")


def is_remote(path: object) -> bool:
    """True for a path object that lives on a non-local fsspec filesystem."""
    protocol = getattr(path, "protocol", None)
    return isinstance(protocol, str) and protocol not in ("", "file", "local")


def as_path(location: str | os.PathLike[str] | AnyPath) -> AnyPath:
    """A `Path` for a local location, a `UPath` for a URL (one clear error if its filesystem is missing)."""
    if is_remote(location):
        return location
    text = os.fspath(location) if isinstance(location, os.PathLike) else str(location)
    if text.startswith("file://"):
        return Path(text[len("file://") :])
    if not _URL.match(text):
        return Path(location)
    try:
        from upath import UPath
    except ImportError:
        raise UsageError(f"{text}: object storage needs universal_pathlib: pip install 'olmoasr[cloud]'") from None
    try:
        path = UPath(text)
        path.fs  # noqa: B018 - instantiating the filesystem is what fails when its package is missing
    except (ImportError, ValueError) as err:
        scheme = text.split("://", 1)[0]
        raise UsageError(
            f"{text}: no filesystem for {scheme}:// ({_short(err)}); "
            "pip install 'olmoasr[cloud]' (s3://), 'olmoasr[gcs]' (gs://) or the fsspec package for it"
        ) from None
    return path


def _short(err: BaseException) -> str:
    return " ".join(str(err).split())[:160] or type(err).__name__


def location_str(path: AnyPath) -> str:
    """The string a record stores for a path: the local path, or the full URL."""
    return str(path) if is_remote(path) else os.fspath(path)


def absolute(path: AnyPath) -> AnyPath:
    """Local paths resolved; URLs are already absolute."""
    return path if is_remote(path) else Path(path).resolve()


def open_input(location: str | os.PathLike[str] | AnyPath, mode: str = "rb") -> IO[Any]:
    """Open a local file or object for streaming reads."""
    return as_path(location).open(mode)


def read_range(location: str | os.PathLike[str] | AnyPath, offset: int, size: int) -> bytes:
    """`size` bytes at `offset` (one ranged GET on object storage)."""
    path = as_path(location)
    if is_remote(path):
        return path.fs.cat_file(path.path, start=offset, end=offset + size)
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(size)


def remote_files(root: AnyPath) -> Iterator[tuple[str, AnyPath]]:
    """(path relative to `root`, path) of every object under a remote `root`, from one paginated listing
    (no request per object), sorted."""
    base = root.path.rstrip("/")
    for key in sorted(root.fs.find(base)):
        rel = key[len(base) :].strip("/")
        if rel:
            yield rel, root.joinpath(*rel.split("/"))


def ensure_dir(path: AnyPath) -> None:
    """Create a local directory; object stores have no directories to create."""
    if not is_remote(path):
        Path(path).mkdir(parents=True, exist_ok=True)


def remove(path: AnyPath) -> None:
    """Delete a file or object if it exists."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def upload(local_file: str | os.PathLike[str], destination: AnyPath) -> None:
    """Copy a finished local file to `destination` in one piece (one PUT, or a multipart upload that
    becomes visible only when complete)."""
    destination.fs.put_file(os.fspath(local_file), destination.path)


def upload_temporary(suffix: str = "") -> Path:
    """A new, empty local file to build an upload in (the system temp dir; the caller removes it)."""
    handle, name = tempfile.mkstemp(prefix=".olmoasr-upload-", suffix=suffix)
    os.close(handle)
    return Path(name)


@contextlib.contextmanager
def local_staging(destination: AnyPath, suffix: str = "") -> Iterator[Path]:
    """A local temporary file to write; uploaded to the remote `destination` when the block succeeds,
    removed in every case."""
    tmp = upload_temporary(suffix)
    try:
        yield tmp
        upload(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def check_output_outside_input(input_path: AnyPath, output_dir: AnyPath) -> None:
    """A stage's output directory inside its input directory would be read back as input on a re-run."""
    root, out = absolute(as_path(input_path)), absolute(as_path(output_dir))
    if type(root) is type(out) and root.is_dir() and (out == root or root in out.parents):
        raise UsageError(f"{output_dir}: the output directory must not be inside the input directory {input_path}")


_STORAGE_ERROR_MODULES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "gcsfs", "google.auth", "google.api_core")


def storage_error_message(err: BaseException) -> str | None:
    """One line for an error raised by an object-storage client (unreachable endpoint, bad credentials,
    missing bucket, ...), or None for any other error."""
    for error in (err, err.__cause__, err.__context__):
        if error is not None and type(error).__module__.startswith(_STORAGE_ERROR_MODULES):
            return (
                f"object storage: {_short(error)} (check the URL, the credentials and, for S3-compatible "
                "servers, AWS_ENDPOINT_URL)"
            )
    return None
