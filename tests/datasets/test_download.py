"""minidl.datasets.download against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from fixture_files import sha256

from minidl.datasets.download import (
    DownloadError,
    atomic_write,
    data_root,
    download_file,
    download_prefix,
)

BODY = bytes(range(256)) * 1000  # 256,000 bytes, several chunks


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_full_download_verifies_checksum(http_server, tmp_path):
    http_server.files["data/blob.bin"] = BODY
    target = tmp_path / "cache" / "blob.bin"
    assert download_file([http_server.url("data/blob.bin")], target, sha256(BODY), progress=False) == target
    assert target.read_bytes() == BODY
    assert leftovers(target.parent) == ["blob.bin"]


def test_checksum_mismatch_is_rejected_and_leaves_nothing(http_server, tmp_path):
    http_server.files["blob.bin"] = BODY
    target = tmp_path / "blob.bin"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_file([http_server.url("blob.bin")], target, sha256(b"other"), progress=False)
    assert leftovers(tmp_path) == []


def test_server_dying_mid_transfer_leaves_no_file(http_server, tmp_path):
    http_server.files["blob.bin"] = BODY
    http_server.cut_after["blob.bin"] = 100_000
    target = tmp_path / "blob.bin"
    with pytest.raises(DownloadError, match="cut off after 100000 of 256000 bytes"):
        download_file([http_server.url("blob.bin")], target, progress=False)
    assert leftovers(tmp_path) == []


def test_interrupted_download_keeps_the_previous_file(http_server, tmp_path):
    target = tmp_path / "blob.bin"
    target.write_bytes(b"old")
    http_server.files["blob.bin"] = BODY
    http_server.cut_after["blob.bin"] = 10
    with pytest.raises(DownloadError):
        download_file([http_server.url("blob.bin")], target, progress=False)
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["blob.bin"]


def test_mirrors_are_tried_in_order(http_server, dead_url, tmp_path):
    http_server.files["good/blob.bin"] = BODY
    http_server.files["bad/blob.bin"] = b"corrupted"
    urls = [
        dead_url + "blob.bin",
        http_server.url("missing/blob.bin"),
        http_server.url("bad/blob.bin"),
        http_server.url("good/blob.bin"),
    ]
    download_file(urls, tmp_path / "blob.bin", sha256(BODY), progress=False)
    assert (tmp_path / "blob.bin").read_bytes() == BODY
    assert [path for path, _ in http_server.requests] == ["missing/blob.bin", "bad/blob.bin", "good/blob.bin"]


def test_all_mirrors_failing_names_each_url_and_reason(http_server, dead_url, tmp_path):
    urls = [dead_url + "blob.bin", http_server.url("missing/blob.bin")]
    with pytest.raises(DownloadError) as error:
        download_file(urls, tmp_path / "blob.bin", progress=False)
    message = str(error.value)
    assert "blob.bin" in message and urls[0] in message and urls[1] in message
    assert "cannot connect" in message
    assert "HTTP error 404" in message
    assert [url for url, _ in error.value.failures] == urls


def test_validate_hook_rejects_a_copy(http_server, tmp_path):
    http_server.files["blob.bin"] = BODY

    def reject(path: Path) -> None:
        assert path.read_bytes() == BODY and path.name != "blob.bin"
        raise ValueError("not what we wanted")

    with pytest.raises(DownloadError, match="not what we wanted"):
        download_file([http_server.url("blob.bin")], tmp_path / "blob.bin", validate=reject, progress=False)
    assert leftovers(tmp_path) == []


def test_prefix_uses_a_range_request(http_server):
    http_server.files["blob.bin"] = BODY
    assert download_prefix([http_server.url("blob.bin")], 1000, progress=False) == BODY[:1000]
    assert http_server.requests == [("blob.bin", "bytes=0-999")]
    assert http_server.bytes_sent == 1000


def test_prefix_longer_than_the_file_returns_the_file(http_server):
    http_server.files["blob.bin"] = BODY[:500]
    assert download_prefix([http_server.url("blob.bin")], 1000, progress=False) == BODY[:500]


def test_prefix_from_a_server_ignoring_range_stops_reading_early(http_server):
    http_server.files["blob.bin"] = BODY * 40  # 10 MB
    http_server.ignore_range = True
    assert download_prefix([http_server.url("blob.bin")], 3000, progress=False) == BODY[:3000]
    assert http_server.bytes_sent < len(BODY) * 40


def test_prefix_cut_off_is_an_error(http_server, dead_url):
    http_server.files["blob.bin"] = BODY
    http_server.cut_after["blob.bin"] = 100
    with pytest.raises(DownloadError, match="cut off after 100 of 5000 bytes"):
        download_prefix([http_server.url("blob.bin")], 5000, progress=False)
    with pytest.raises(DownloadError):
        download_prefix([dead_url + "blob.bin"], 10, progress=False)


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "file.txt"
    with atomic_write(target) as handle:
        handle.write(b"one")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"two, half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"one"
    assert leftovers(tmp_path) == ["file.txt"]


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIDL_DATA", str(tmp_path))
    assert data_root("/somewhere") == Path("/somewhere")
    assert data_root() == tmp_path
    monkeypatch.delenv("MINIDL_DATA")
    assert data_root() == Path("~/.cache/minidl").expanduser()


def test_progress_bar_uses_tqdm_when_installed(http_server, tmp_path, monkeypatch):
    updates = []

    class FakeBar:
        def __init__(self, total, **kwargs):
            updates.append(("total", total))

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

        def update(self, n):
            updates.append(n)

    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=FakeBar))
    http_server.files["blob.bin"] = BODY
    download_file([http_server.url("blob.bin")], tmp_path / "blob.bin")
    assert updates[0] == ("total", len(BODY)) and sum(updates[1:]) == len(BODY)


def test_progress_without_tqdm_prints_one_line(http_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    http_server.files["blob.bin"] = BODY
    download_file([http_server.url("blob.bin")], tmp_path / "blob.bin")
    assert capsys.readouterr().err == f"Downloading {http_server.url('blob.bin')}\n"
