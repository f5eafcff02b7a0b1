"""An ASGI app served over HTTP from a thread of this process: a contingent's witness node,
a party's inbox, the demo's center API; and what such apps share (a bounded request body, logs
without the notices' secrets)."""

from __future__ import annotations

import gc
import logging
import re
import socket
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import uvicorn
    from starlette.requests import Request


async def body_within(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it says or turns out to be larger than ``limit``
    bytes (read a chunk at a time: no more than that is held)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
SECRET_QUERY = re.compile(r"([?&]token=)[^&#\s\"']+")
"""A notice's link in a URL: its ``token`` (the credential of an acknowledgement and of the
daily report the notice points to) is what a log must not keep."""
REDACTED_LOGGERS = ("uvicorn.access", "uvicorn.error", "httpx")
"""The loggers that write request URLs: uvicorn's access log (``ceasefire serve``: every
``GET /api/v1/notices/{id}/report?token=...`` and ``.../ack?token=...``) and httpx's request
log (``ceasefire inbox serve`` fetching its report with the token)."""


def redacted(text: str) -> str:
    """``text`` with the value of every ``token=`` of a URL's query replaced."""
    return SECRET_QUERY.sub(r"\1[redacted]", text)


class _HideSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = redacted(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redacted(str(a)) if not isinstance(a, int | float) and "token=" in str(a) else a
                for a in record.args
            )
        return True


def hide_secrets() -> None:
    """Keep the notices' tokens out of the records of :data:`REDACTED_LOGGERS` (once per
    process; uvicorn's logging set-up keeps a logger's filters)."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _HideSecrets) for f in logger.filters):
            logger.addFilter(_HideSecrets())


def log_to_stderr(level: int = logging.INFO) -> None:
    """The log of a long-running command (``serve``, ``inbox serve``, ``witness serve``,
    ``node run``, ``worker``): on standard error, at ``level``, without the notices' tokens.
    Whoever reads the center's log (either contingent's operators) must not be able to
    acknowledge a party's notice or fetch its report in the party's name."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    hide_secrets()


YOUNG_OBJECTS = 10_000
"""Objects made between two collections of the youngest generation in a server (Python's
default is 700). A batch of 1,000 observations makes some 30,000 objects that live until it is
answered: at 700 the collector walked them again and again as they aged (gc.callbacks around
the center's intake of 10 batches, load 7: 7.9 µs a record in the collector, 7 % of the
intake; at 10,000, 2.7 µs). Cycles are still collected, a little later."""


def settle() -> None:
    """Put what starting a server made (modules, classes, the app and its caches) out of the
    cyclic garbage collector's way, once the app is built and before it serves: a full
    collection walks every tracked object: a center's ~174,000 took 110 to 170 ms (load 5.7),
    and the two that fell among 200 map views held a request up to 255 ms (load 6.7; frozen,
    the longest was 15 ms). They live as long as the server anyway; what requests make is
    collected as before, in larger generations (:data:`YOUNG_OBJECTS`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])


def listening(host: str = "127.0.0.1", port: int = 0, backlog: int = 2048) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening, to hand to uvicorn.

    Made with the protocol named (``IPPROTO_TCP``), not left 0 as ``socket.socket()`` leaves
    it: asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on connections accepted
    from such a socket. Without it a response whose headers and body uvicorn writes apart
    waited for the client's delayed ACK, about 40 ms on Linux: a map view of no incidents took
    64 ms, 9 with it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


class ServedApp:
    """An ASGI app served over HTTP from a thread of this process; a context manager. The
    socket listens before the thread starts, so :attr:`url` answers at once (the demo serves
    the center's API this way for the parties' acknowledgements)."""

    def __init__(self, app: Any, *, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.name = app, name
        self.host, self.port = host, port
        self.url = ""
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Listen and serve in a thread; sets :attr:`url`."""
        # imported here: only a process that serves needs the server
        import uvicorn

        if self._socket is not None:
            raise RuntimeError(f"{self.name} has been started already")

        sock = self._socket = listening(self.host, self.port)
        host, port = sock.getsockname()
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(
            self.app, lifespan="off", log_level="warning", log_config=None, ws="none"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def signal_stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    def stop(self) -> None:
        """Stop serving (requests in progress are answered first)."""
        self.signal_stop()
        if self._thread is not None:
            self._thread.join()
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["ServedApp"]
