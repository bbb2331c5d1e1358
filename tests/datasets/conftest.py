"""Test helpers for the datasets: a real HTTP server on 127.0.0.1 with Range support and
the real data folder; fixture_files.py builds the files the server serves."""

from __future__ import annotations

import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass
class FixtureServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1.

    ``requests`` logs (path, Range header) per request; ``cut_after`` maps a path to the
    number of body bytes sent before the server hangs up mid-transfer (announcing the
    full Content-Length); ``ignore_range`` makes it answer Range requests with 200.
    """

    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    cut_after: dict[str, int] = field(default_factory=dict)
    ignore_range: bool = False
    bytes_sent: int = 0

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


def _handler(state: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urllib.parse.unquote(self.path.lstrip("/"))
            range_header = self.headers.get("Range")
            state.requests.append((path, range_header))
            if path not in state.files:
                self.send_error(404)
                return
            body = state.files[path]
            start, stop = 0, len(body)
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", range_header or "")
            if match and not state.ignore_range:
                start = int(match[1])
                stop = min(int(match[2]) + 1, len(body)) if match[2] else len(body)
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(stop - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            payload = body[start:stop][: state.cut_after.get(path)]
            try:
                for offset in range(0, len(payload), 1 << 14):
                    chunk = payload[offset : offset + (1 << 14)]
                    state.bytes_sent += len(chunk)  # before the write: no race with the client
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up once it had what it wanted

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch):
    """A FixtureServer running in a thread for the duration of one test."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    state = FixtureServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def shared_data() -> Path:
    """The real data folder (``../shared/data``); skips the test if it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
