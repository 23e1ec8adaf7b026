"""Children a test will Ctrl-C: SIGINT back to its default action, however the suite was started."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """`preexec_fn` for a child that must stop on SIGINT.

    A suite started as a background job of a non-interactive shell (`nohup ... &`, some CI
    runners) inherits SIGINT ignored, and so would every child: Python then installs no
    KeyboardInterrupt handler, and a test's Ctrl-C would do nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
