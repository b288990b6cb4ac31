"""A loopback HTTP proxy for the serving tests: forwards to a real OpenAI-compatible server, counts the
requests it sees, and injects faults into chosen POSTs (the generation requests)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

FAULTS = ("500", "429", "timeout", "drop", "malformed")
"""HTTP 500; HTTP 429; no answer until the client gives up; connection closed without an answer; a 200
whose body is not JSON."""


class FaultProxy:
    """``plan(n)`` names the fault for the ``n``-th POST (from 0, retries included), or gives the bytes of
    a 200 answer to send instead, or None to forward it."""

    def __init__(self, upstream: str, *, stall: float = 5.0) -> None:
        self.upstream = urlsplit(upstream)
        self.stall = stall
        self.plan: Callable[[int], str | bytes | None] = lambda n: None
        self.seen: list[tuple[str, str, str | None]] = []  # (method, path, Authorization header)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.upstream.path}"

    def posts(self) -> int:
        return sum(method == "POST" for method, _, _ in self.seen)

    def reset(self) -> None:
        self.seen.clear()
        self.plan = lambda n: None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

        return Handler

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        with self._lock:
            index = self.posts()
            self.seen.append((request.command, request.path, request.headers.get("Authorization")))
        fault = self.plan(index) if request.command == "POST" else None
        if fault in ("timeout", "drop"):
            if fault == "timeout":
                time.sleep(self.stall)
            request.close_connection = True
            return
        if fault in ("500", "429"):
            return self._answer(request, int(fault), json.dumps({"error": {"message": f"injected {fault}"}}).encode())
        if fault == "malformed":
            return self._answer(request, 200, b'{"id": "x", "choices": [{"text": ')
        if isinstance(fault, bytes):
            return self._answer(request, 200, fault)
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=300)
        try:
            upstream.request(request.command, request.path, body, {"Content-Type": "application/json"})
            answer = upstream.getresponse()
            self._answer(request, answer.status, answer.read())
        except OSError:  # the server is gone: so is the answer
            request.close_connection = True
        finally:
            upstream.close()

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, payload: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
