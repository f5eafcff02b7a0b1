"""Real HTTP receivers on loopback for the dispatcher's tests: each path behaves one way.

A plain asyncio server in a thread of its own (its own event loop), so that a test, the
dispatcher in the test's loop, or a dispatcher process all talk to it over real sockets. It
checks each webhook's signature with the center's key and records the notice ids it took.

Paths: ``/ok`` takes it; ``/slow`` answers after ``slow`` seconds; ``/500`` answers 500;
``/garbage`` answers bytes that are no HTTP; ``/close`` closes the connection unanswered;
``/redirect`` answers 307 to ``/ok``; ``/flaky`` fails the first request of each notice with 500;
``/hang`` never answers; ``/gate`` answers (and takes it) once the test opens ``gate``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from dataclasses import dataclass, field

from ceasefire.dissemination.webhooks import SignatureRefused, verify_webhook


@dataclass
class Seen:
    ids: Counter[str] = field(default_factory=Counter)  # accepted notice ids, by path
    by_path: dict[str, list[str]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)  # every request, by path
    refused: list[str] = field(default_factory=list)  # signatures that did not verify
    busy: Counter[str] = field(default_factory=Counter)  # requests being answered now, by path
    peak: Counter[str] = field(default_factory=Counter)  # the most ever at once, by path


class Receiver:
    def __init__(self, key: str | bytes | None = None, slow: float = 2.0) -> None:
        self.key = key
        self.slow = slow
        self.seen = Seen()
        self.lock = threading.Lock()
        self._tried: set[str] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.gate = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            self._loop.run_until_complete(
                asyncio.gather(*self._tasks, self._server.wait_closed(), return_exceptions=True)
            )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        _method, path, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        path = path.strip("/")
        with self.lock:
            self.seen.requests[path] += 1
            self.seen.busy[path] += 1
            self.seen.peak[path] = max(self.seen.peak[path], self.seen.busy[path])
        try:
            return await self._answer(path, headers, body, writer)
        finally:
            with self.lock:
                self.seen.busy[path] -= 1

    async def _answer(
        self, path: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        if path == "hang":
            await asyncio.sleep(3600)
        if path == "gate":
            while not self.gate.is_set():
                await asyncio.sleep(0.01)
        if path == "close":
            return False
        if path == "garbage":
            writer.write(b"\x00\xffthis is no http\r\n\r\n")
            await writer.drain()
            return False
        if path == "500":
            return await _answer(writer, 500, b"no")
        if path == "redirect":
            return await _answer(writer, 307, b"", f"location: {self.url('ok')}\r\n")
        if path == "flaky":  # the first try of each notice fails, the next goes through
            with self.lock:
                notice_id = headers.get("webhook-id", "")
                fail = notice_id not in self._tried
                self._tried.add(notice_id)
            if fail:
                return await _answer(writer, 500, b"flaky")
        if path == "slow":
            await asyncio.sleep(self.slow)
        if self.key is not None:
            try:
                notice = verify_webhook(headers, body, self.key)
            except SignatureRefused as e:
                with self.lock:
                    self.seen.refused.append(e.reason)
                return await _answer(writer, 401, b"bad signature")
        else:
            notice = headers.get("webhook-id", "?")
        with self.lock:
            self.seen.ids[notice] += 1
            self.seen.by_path.setdefault(path, []).append(notice)
        return await _answer(writer, 204, b"")


async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes, extra: str = "") -> bool:
    reason = {204: "No Content", 307: "Temporary Redirect", 401: "Unauthorized"}.get(
        status, "Internal Server Error" if status == 500 else "OK"
    )
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body
    )
    await writer.drain()
    return True
