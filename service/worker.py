"""`opswatchdog worker`: the dispatcher without HTTP: claims incidents from the inbox and runs their graphs.

`opswatchdog serve` starts one as its child (settings.runs = "worker", the default), so an investigation (the
graph, the MCP tools server, the SSH fan-out: seconds of CPU) never shares the event loop, nor at a lower CPU
priority the core, of the webhook's answer. Started by hand, more workers on other machines share the same
inbox: claims are leases in Postgres, so each incident runs in one worker at a time.

A worker started by serve (`--parent-pipe`) watches its stdin, the write end of which only its parent holds:
end-of-file means the parent is gone, even by kill -9, and the worker stops at once, as on SIGTERM. Runs in
flight are cancelled without being finished in the inbox: their leases expire and the next start re-drives them
from their last checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from service.dispatcher import Dispatcher
from service.driver import InProcessDriver, open_in_process_driver
from service.inbox import open_inbox
from service.settings import ServiceSettings

log = logging.getLogger("opswatchdog.worker")

WORKER_POOL_SIZE = 4  # claims, leases, answers, notices: a handful of short transactions per run


def _watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Watch stdin in the event loop; on end-of-file or an error (the parent died or closed it) set `stop`."""
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            stop.set()

    loop.add_reader(fd, readable)


async def run_worker(settings: ServiceSettings, *, parent_pipe: bool = False) -> None:
    """Run the dispatcher until SIGTERM/SIGINT (or, with `parent_pipe`, until the parent goes away)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if parent_pipe:
        _watch_parent(loop, stop)
    async with open_inbox(settings, pool_size=WORKER_POOL_SIZE) as inbox, open_in_process_driver() as runner:
        dispatcher = Dispatcher(inbox, InProcessDriver(runner), settings)
        dispatcher.start()
        log.info(
            "worker %s: claiming incidents (at most %d runs at once)", dispatcher.owner, settings.max_concurrent_runs
        )
        try:
            await stop.wait()
        finally:
            await dispatcher.stop()
