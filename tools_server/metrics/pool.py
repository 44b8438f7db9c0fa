"""A small pool of blocking DB-API connections for worker threads: one thread per connection at a time.

A connection the server dropped (restart, wait_timeout, KILL) is replaced and the call retried once;
callers keep their statements idempotent (reads, INSERT IGNORE) so a retry is safe.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class ConnectionPool:
    """At most `size` connections, created on demand and reused; call `run` from a worker thread only."""

    def __init__(self, connect: Callable[[], Any], size: int, is_disconnect: Callable[[BaseException], bool]) -> None:
        if size < 1:
            msg = f"pool size must be at least 1, not {size}"
            raise ValueError(msg)
        self._connect = connect
        self._is_disconnect = is_disconnect
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._closed = False

    def run(self, fn: Callable[[Any], T]) -> T:
        """Run `fn(connection)`; on a dropped connection, reconnect and run it once more."""
        with self._slots:
            conn = self._take()
            try:
                result = fn(conn)
            except Exception as exc:
                if not self._is_disconnect(exc):
                    self._give(conn)
                    raise
                log.warning("metrics store: connection dropped (%s); reconnecting once", exc)
                _close_quietly(conn)
                conn = self._connect()
                try:
                    result = fn(conn)
                except Exception:
                    _close_quietly(conn)
                    raise
            self._give(conn)
            return result

    def close(self) -> None:
        """Close idle connections now and busy ones when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)

    def _take(self) -> Any:
        with self._lock:
            if self._closed:
                msg = "the metrics store is closed"
                raise RuntimeError(msg)
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give(self, conn: Any) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        _close_quietly(conn)


def _close_quietly(conn: Any) -> None:
    # Closing a connection the server already dropped raises; it is gone either way.
    try:
        conn.close()
    except Exception as exc:  # any driver error here only means "already closed"
        log.debug("closing a dropped connection: %s", exc)
