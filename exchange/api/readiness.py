"""Readiness, apart from liveness: can this hub answer calls now (database reachable, keyring loaded)?

Liveness is gRPC health's overall status (service ""): SERVING while the process serves, so a
supervisor restarts only a hub that is stuck or gone. Readiness is what a load balancer routes
on: each service name's health status, and ``GET /ready`` on the metrics port, follow a probe
of the database (Database.probe: a question on a connection of its own, within PROBE_TIMEOUT_S)
and the keyring, run every READINESS_INTERVAL_S by a background thread. A database outage
makes the hub unready, not dead: restarting it would not bring the database back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from exchange.secrets.keyring import Keyring
from exchange.store.database import PROBE_TIMEOUT_S, Database

log = logging.getLogger("exchange.readiness")

STOP_JOIN_MARGIN_S = 1.0  # past a probe's own time limit, how long stop() waits for the probe thread
READINESS_INTERVAL_S = 2.0  # how often the probe runs; a change is seen within this plus PROBE_TIMEOUT_S
UNREADY_LOG_INTERVAL_S = 60.0  # while unready, the reason is logged again at most this often
READY_PATH = "/ready"


class Readiness:
    """The last verdict of the readiness probe, and the thread that keeps it fresh."""

    def __init__(self, database: Database, keyring: Keyring | None) -> None:
        self._database = database
        self._keyring = keyring
        self._reason: str | None = "not probed yet"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warnings = RateLimitedWarning(log, UNREADY_LOG_INTERVAL_S)

    @property
    def reason(self) -> str | None:
        """Why the hub is not ready (one line), or None when it is."""
        with self._lock:
            return self._reason

    def check(self) -> str | None:
        """Probe now, keep and return the verdict (None: ready)."""
        reason = self._keyring_reason() or self._database_reason()
        with self._lock:
            was, self._reason = self._reason, reason
        if reason is None and was is not None and was != "not probed yet":
            log.info("ready again: the database answers")
        elif reason is not None:
            self._warnings.warn("not ready: %s", reason)
        return reason

    def start(self, on_change: Callable[[str | None], None]) -> None:
        """Probe now and every READINESS_INTERVAL_S in a background thread; on_change(reason) gets each new verdict."""
        last = self.check()
        on_change(last)

        def probe_forever() -> None:
            nonlocal last
            while not self._stop.wait(READINESS_INTERVAL_S):
                reason = self.check()
                if reason != last:
                    on_change(reason)
                    last = reason

        self._thread = threading.Thread(target=probe_forever, name="readiness-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the probe thread, waiting for a probe under way (so nothing is logged after the hub stopped)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=PROBE_TIMEOUT_S + STOP_JOIN_MARGIN_S)

    def _keyring_reason(self) -> str | None:
        if self._keyring is None:
            return "no keyring loaded"
        try:
            self._keyring.master_key(self._keyring.current_master_key_id)
        except (LookupError, ValueError) as error:
            return f"the keyring has no current master key: {error}"
        return None

    def _database_reason(self) -> str | None:
        reason = self._database.probe()
        return None if reason is None else f"database unreachable: {reason}"


def with_ready_endpoint(metrics_app: WSGIApplication, readiness: Callable[[], str | None]) -> WSGIApplication:
    """Serve GET /ready (200 "ready", or 503 and the reason on one line) beside what metrics_app serves.

    readiness() is asked on each request: the probe's last verdict, or a fresh probe where no
    background thread keeps one (the parent of `serve --processes N`).
    """

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != READY_PATH:
            return metrics_app(environ, start_response)
        reason = readiness()
        status = "200 OK" if reason is None else "503 Service Unavailable"
        body = ("ready" if reason is None else f"not ready: {reason}").encode() + b"\n"
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    return app


class RateLimitedWarning:
    """A warning logged at most once per interval (the first at once), counting the ones left out."""

    def __init__(self, logger: logging.Logger, interval_s: float) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._last_at: float | None = None
        self._left_out = 0
        self._lock = threading.Lock()

    def warn(self, message: str, reason: str) -> None:
        """Log message % reason as one line with a `reason` field, unless one was logged within the interval."""
        now = time.monotonic()
        with self._lock:
            if self._last_at is not None and now - self._last_at < self._interval_s:
                self._left_out += 1
                return
            left_out, self._left_out, self._last_at = self._left_out, 0, now
        self._logger.warning(message, reason, extra={"reason": reason, "repeats_left_out": left_out})
