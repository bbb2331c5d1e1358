"""Fetching dataset files: the cache folder, mirrors, HTTP Range requests, atomic writes.

Every download streams into a hidden temporary file next to its destination and is moved
under the final name with ``os.replace`` only after it is complete and verified, so an
interrupted or corrupted transfer never leaves a file that looks finished.

Each file has a list of URLs (mirrors) tried in order; the first that delivers a complete,
verified file wins. When all fail, :class:`DownloadError` lists every URL with its reason,
and the datasets turn that into a :class:`DatasetNotFoundError` that also says which
folder to put the file in by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1 << 16
USER_AGENT = "minidl-datasets/1"
DEFAULT_TIMEOUT = 30.0

# Errors a single transfer can end with; anything else is a bug and propagates.
TRANSFER_ERRORS = (OSError, ValueError, http.client.HTTPException)


class DownloadError(OSError):
    """A file could not be fetched from any of its URLs.

    ``failures`` holds one ``(url, reason)`` pair per URL tried, in order.
    """

    def __init__(self, filename: str, failures: Sequence[tuple[str, str]]) -> None:
        self.failures = list(failures)
        lines = [f"could not download {filename}:"]
        lines += [f"  {url}: {reason}" for url, reason in self.failures]
        super().__init__("\n".join(lines))


class DatasetNotFoundError(FileNotFoundError):
    """Files of a dataset are absent from the cache folder and were not (or could not be)
    downloaded. The message names each file, the URLs it comes from and the folder."""


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder datasets live under: ``root`` if given, else ``$MINIDL_DATA``,
    else ``~/.cache/minidl``.

    Example:
        >>> data_root("/tmp/data")
        PosixPath('/tmp/data')
    """
    if root is None:
        root = os.environ.get("MINIDL_DATA") or "~/.cache/minidl"
    return Path(root).expanduser()


@contextlib.contextmanager
def atomic_write(destination: Path) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``destination``; on a clean exit of the ``with``
    block it replaces ``destination``, on any exception it is deleted.

    Example:
        >>> with atomic_write(Path("runs/x.bin")) as handle:
        ...     _ = handle.write(b"complete or nothing")
        >>> Path("runs/x.bin").read_bytes()
        b'complete or nothing'
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    os.close(descriptor)
    try:
        with open(temporary, "wb") as handle:
            yield handle
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def download_file(
    urls: Sequence[str],
    destination: str | os.PathLike[str],
    sha256: str | None = None,
    *,
    validate: Callable[[Path], None] | None = None,
    progress: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download a whole file from the first of ``urls`` that delivers it intact.

    Args:
        urls: mirrors, tried in order.
        destination: final path; only ever holds a complete, verified file.
        sha256: expected hex digest; a mismatch rejects that mirror's copy.
        validate: called with the temporary file's path before it is moved into place;
            raise ``ValueError`` to reject the copy.
        progress: show a tqdm bar (if tqdm is installed) or one line per file on stderr.

    Raises:
        DownloadError: every URL failed; the message gives each URL's reason.

    Example (needs the network)::

        download_file(["https://example.org/a.gz", "https://mirror.example.org/a.gz"], "data/a.gz", sha256="…")
    """
    destination = Path(destination)
    failures = []
    for url in urls:
        try:
            _download_whole(url, destination, sha256, validate, progress, timeout)
            return destination
        except TRANSFER_ERRORS as error:
            failures.append((url, _describe(error)))
    raise DownloadError(destination.name, failures)


def download_prefix(
    urls: Sequence[str],
    nbytes: int,
    *,
    progress: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """The first ``nbytes`` bytes of a remote file (all of it if it is shorter), asked
    for with an HTTP ``Range: bytes=0-<nbytes-1>`` request.

    A server that ignores Range and answers with the whole file is read only up to
    ``nbytes`` and then hung up on. Mirrors are tried in order as in :func:`download_file`.

    Raises:
        DownloadError: every URL failed (refused, HTTP error, cut off mid-transfer).

    Example (needs the network)::

        header = download_prefix(["https://example.org/cat.npy"], 128)    # the first 128 bytes
    """
    if nbytes <= 0:
        raise ValueError(f"nbytes must be positive, got {nbytes}")
    failures = []
    for url in urls:
        try:
            return _download_prefix(url, nbytes, progress, timeout)
        except TRANSFER_ERRORS as error:
            failures.append((url, _describe(error)))
    raise DownloadError(Path(urls[0]).name if urls else "?", failures)


def _open(url: str, timeout: float, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(request, timeout=timeout)


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.isdigit() else None


def _download_whole(url, destination, sha256, validate, progress, timeout) -> None:
    digest = hashlib.sha256()
    with atomic_write(destination) as handle, _open(url, timeout) as response:
        expected = _content_length(response)
        received = 0
        with _progress_bar(expected, destination.name, url, progress) as advance:
            while chunk := response.read(CHUNK_SIZE):
                handle.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                advance(len(chunk))
        if expected is not None and received != expected:
            raise OSError(f"transfer cut off after {received} of {expected} bytes")
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise ValueError(f"checksum mismatch: expected sha256 {sha256}, got {digest.hexdigest()}")
        handle.flush()
        if validate is not None:
            validate(Path(handle.name))


def _download_prefix(url, nbytes, progress, timeout) -> bytes:
    headers = {"Range": f"bytes=0-{nbytes - 1}"}
    with _open(url, timeout, headers) as response:
        length = _content_length(response)
        if response.status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith("bytes 0-"):
                raise ValueError(f"unexpected Content-Range {content_range!r}")
            expected = length
        else:
            # The server ignored Range and sends the whole file: read what we need.
            expected = None if length is None else min(nbytes, length)
        chunks = []
        received = 0
        with _progress_bar(expected or nbytes, Path(url).name, url, progress) as advance:
            while received < nbytes:
                chunk = response.read(min(CHUNK_SIZE, nbytes - received))
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
                advance(len(chunk))
    if expected is not None and received < expected:
        raise OSError(f"transfer cut off after {received} of {expected} bytes")
    return b"".join(chunks)


@contextlib.contextmanager
def _progress_bar(total: int | None, name: str, url: str, enabled: bool) -> Iterator[Callable[[int], object]]:
    if not enabled:
        yield lambda n: None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:
        print(f"Downloading {url}", file=sys.stderr)
        yield lambda n: None
        return
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name) as bar:
        yield bar.update


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP error {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect: {error.reason}"
    return f"{type(error).__name__}: {error}"


def missing_files_message(
    dataset: str,
    folder: Path,
    sources: dict[str, Sequence[str]],
    failures: dict[str, DownloadError] | None = None,
) -> str:
    """The text of a :class:`DatasetNotFoundError`: each missing file with its URLs
    (and why each failed, when a download was attempted) and the folder to put it in."""
    count = f"{len(sources)} file{'s' if len(sources) != 1 else ''}"
    if failures:
        head = f"{dataset}: {count} missing from {folder} and could not be downloaded:"
    else:
        head = f"{dataset}: {count} missing from {folder} (download=False):"
    lines = [head]
    for name, urls in sources.items():
        lines.append(f"  {name}")
        reasons = dict(failures[name].failures) if failures and name in failures else {}
        for position, url in enumerate(urls):
            reason = f"  ({reasons[url]})" if url in reasons else ""
            lines.append(f"    {'from' if position == 0 else 'or  '} {url}{reason}")
    if failures:
        lines.append(f"Fetch them by hand from one of the URLs into {folder}{os.sep}")
    else:
        lines.append(f"Pass download=True to fetch them, or put them in {folder}{os.sep}")
    lines.append("(the cache folder is root=..., else $MINIDL_DATA, else ~/.cache/minidl).")
    return "\n".join(lines)
