"""The heartbeat flusher in a process of its own, beside gunicorn's web workers.

A flush writes a few thousand heartbeats and session states at a time, a few hundred
milliseconds of Python every couple of seconds. In a web worker that time holds the
interpreter's lock, and the worker's event loop, with every heartbeat waiting on it, stands
still meanwhile. gunicorn.conf.py therefore runs the flusher as a *dirty app*: gunicorn's
dirty arbiter starts one dirty worker process for it, beside the web workers, and starts it
again if it dies. The web workers, told HEARTBEAT_FLUSHER=dedicated, start none.
"""

from __future__ import annotations

import os

from gunicorn.dirty import DirtyApp


class HeartbeatFlusher(DirtyApp):
    """Loaded once in gunicorn's dirty worker: starts the flusher thread there."""

    workers = 1  # one flusher per server is plenty (and a Redis lock allows one at a time)

    def init(self) -> None:
        # The web workers come first when the cores are busy: a flush may take a little
        # longer, a heartbeat's answer should not.
        os.nice(5)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
        import django

        django.setup()
        from cpe.learning.heartbeat_buffer import flusher_start

        self.running = flusher_start()

    def status(self) -> dict[str, bool]:
        """Whether the flusher runs here (asked through gunicorn's dirty client)."""
        return {"running": self.running}
