"""The worker child of `opswatchdog serve`: started with the app, restarted if it dies, stopped with the app.

The child gets a pipe as stdin and nothing is ever written to it: when this process dies for any reason the
kernel closes the pipe and the child stops (service/worker.py). A child that exits on its own (a crash, the
OOM killer) is started again after a back-off that grows while it keeps dying young; incidents it held are
re-driven when their leases expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time

log = logging.getLogger("opswatchdog.service")

STOP_GRACE_S = 20.0
BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_AFTER_S = 60.0  # a child that lived this long resets the back-off


def worker_command(nice: int) -> list[str]:
    """`python -m app worker --parent-pipe --nice N` with this interpreter."""
    return [sys.executable, "-m", "app", "worker", "--parent-pipe", "--nice", str(nice)]


class WorkerProcess:
    """Supervises one worker child."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child and its supervisor."""
        await self._spawn()
        self._task = asyncio.create_task(self._supervise(), name="opswatchdog-worker-supervisor")

    async def _spawn(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self.command, stdin=asyncio.subprocess.PIPE)
        self.starts += 1
        log.info("worker started (pid %d)", self.proc.pid)

    async def _supervise(self) -> None:
        failures = 0
        while True:
            assert self.proc is not None
            born = time.monotonic()
            code = await self.proc.wait()
            if self._stopping:
                return
            failures = 0 if time.monotonic() - born > HEALTHY_AFTER_S else failures + 1
            delay = BACKOFF_S[min(failures, len(BACKOFF_S)) - 1] if failures else BACKOFF_S[0]
            log.error("worker (pid %d) exited with %s; starting another in %.0f s", self.proc.pid, code, delay)
            await asyncio.sleep(delay)
            await self._spawn()

    async def stop(self) -> None:
        """SIGTERM the child (it cancels its runs); SIGKILL after STOP_GRACE_S."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
        except TimeoutError:
            log.warning("worker (pid %d) ignored SIGTERM for %.0f s: killing it", proc.pid, STOP_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
