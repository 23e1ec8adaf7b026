"""SIGTERM and SIGINT, handled alike: the first asks for a graceful stop, the second for a stop now.

`docker stop`, systemd and `kill` send SIGTERM; Ctrl-C sends SIGINT. Both end in
the same drain, so a process stopped either way leaves nothing behind and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Two events set from signal handlers on the running loop: `requested`, then `forced`."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.forced = asyncio.Event()
        self.requested_at: float | None = None  # time.monotonic() of the first signal

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self._received, sig)

    def uninstall(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)

    def _received(self, sig: signal.Signals) -> None:
        if self.requested.is_set():
            log.warning("%s again: stopping now", sig.name)
            self.forced.set()
        else:
            log.info("%s: stopping gracefully (send it again to stop now)", sig.name)
            self.requested_at = time.monotonic()
            self.requested.set()
