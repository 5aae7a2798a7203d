"""Real processes for end-to-end tests: a private redis-server, ``celery worker`` and
``celery beat``, each started by a fixture, tracked by pid and stopped by pid.

The processes run the project's own code with ``tests.settings`` and the same keys as the test
process (inherited environment), against the test database (``DATABASE_URL`` names it) and a
shortened beat period, so a scan runs every second.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.utils import timezone

from alerts.models import Channel
from keyvault.models import Credential
from tests.alerts.outbox_helpers import database_url_for_subprocess, free_port
from tests.factories import MakeCredential, email_channel_make, slack_channel_make
from tests.stubs import SlackStub

ROOT = Path(__file__).resolve().parents[2]

#: Settings for the processes under test: a scan every second, a claim re-opened after 4 s,
#: retries 1 s apart at first.
FAST = {
    "KEYVAULT_SCAN_INTERVAL_SECONDS": "1",
    "KEYVAULT_REMINDER_CLAIM_TIMEOUT_SECONDS": "4",
    "KEYVAULT_REMINDER_RETRY_BASE_SECONDS": "1",
    "KEYVAULT_REMINDER_RETRY_MAX_SECONDS": "5",
    "LOG_LEVEL": "INFO",
}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Process:
    """One child process in its own session (so its children can be stopped with it)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_text: str
    proc: subprocess.Popen[bytes] | None = None
    logs: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, *, timeout: float = 30) -> Process:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(
            lambda: self.ready_text in self.log() or self.proc.poll() is not None,  # type: ignore[union-attr]
            timeout=timeout,
            what=f"{self.name} to start",
        )
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited at start:\n{self.log()[-3000:]}")
        return self

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the process and its children (its process group), and reap it."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM (warm shutdown), then SIGKILL after 3 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal(signal.SIGTERM, wait=3)
        if self.proc.poll() is None:
            self._signal(signal.SIGKILL)

    def _signal(self, sig: int, *, wait: float = 10) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)  # the group led by our child's pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=wait)


@dataclass
class RedisServer:
    """A private redis-server on 127.0.0.1:<free port>, no persistence; stop and start it."""

    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        # Loopback only, no snapshots, no append-only file: a restart starts empty.
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, timeout=10, what="redis-server")
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(log_path=tmp_path / "redis.log").start()
    try:
        yield server
    finally:
        server.stop()


class Celery:
    """Starts worker and beat processes for one test; stops every one it started."""

    def __init__(self, *, tmp_path: Path, base_env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.base_env = base_env
        self.started: list[Process] = []
        self._count = 0

    def env(self, **overrides: str) -> dict[str, str]:
        return {**self.base_env, **overrides}

    def worker(self, **env: str) -> Process:
        self._count += 1
        name = f"worker{self._count}"
        argv = [
            sys.executable, "-m", "celery", "--app", "keyvault", "worker",
            "--loglevel", "INFO", "--pool", "prefork", "--concurrency", "2",
            "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ]  # fmt: skip
        return self._start(name, argv, env, ready_text=" ready.")

    def beat(self, **env: str) -> Process:
        self._count += 1
        name = f"beat{self._count}"
        argv = [
            sys.executable, "-m", "celery", "--app", "keyvault", "beat",
            "--loglevel", "INFO", "--schedule", str(self.tmp_path / f"{name}-schedule"),
        ]  # fmt: skip
        return self._start(name, argv, env, ready_text="beat: Starting")

    def _start(self, name: str, argv: list[str], env: dict[str, str], ready_text: str) -> Process:
        process = Process(
            name=name,
            argv=argv,
            env=self.env(**env),
            log_path=self.tmp_path / f"{name}.log",
            ready_text=ready_text,
        )
        self.started.append(process)
        return process.start()

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"===== {p.name} =====\n{p.log()[-6000:]}" for p in self.started)


@pytest.fixture
def celery(
    transactional_db: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Celery]:
    """Worker/beat factory. Depends on the transactional database, so every process is stopped
    before the test database is emptied."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url_for_subprocess(),
        **FAST,
    }
    env.pop("CELERY_BROKER_URL", None)
    manager = Celery(tmp_path=tmp_path, base_env=env)
    try:
        yield manager
    finally:
        manager.stop_all()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(manager.logs())


@pytest.fixture
def channels(transactional_db: Any, slack: SlackStub) -> Callable[..., None]:
    """Replace every channel by a default Slack channel on the stub (and, asked, an email one)."""

    def make(*, email: bool = False) -> None:
        Channel.objects.all().delete()
        slack_channel_make(name="#it-ops", url=slack.webhook_url())
        if email:
            email_channel_make(name="IT ops (email)", recipients="it-ops@example.com")

    return make


@pytest.fixture
def expiring(make_credential: MakeCredential) -> Callable[..., Credential]:
    """A current credential that expires ``days`` from now (the real clock: the processes
    under test read it)."""

    def make(*, days: int, name: str = "Atlassian Cloud (acme)") -> Credential:
        now = timezone.now()
        expires_at = now + timedelta(days=days, hours=1)
        credential, _ = make_credential(
            name=name,
            expires_at=expires_at,
            issued_at=expires_at - timedelta(days=365),
            now=now,
            owner="IT ops",
        )
        return credential

    return make
