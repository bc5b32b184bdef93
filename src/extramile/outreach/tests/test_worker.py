"""The Celery path with real processes: `extramile worker` on the local Redis, a file database
shared with the subprocesses, and the aiosmtpd server of this test process."""

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_queue() -> Iterator[str]:
    """A queue of our own on the local Redis; skipped without Redis, except under CI."""
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the worker tests, but Redis at {REDIS_URL} is not there: {exc}")
        pytest.skip(f"needs Redis at {REDIS_URL} (not running: {exc})")
    queue = f"extramile-test-{uuid.uuid4().hex[:12]}"
    try:
        yield queue
    finally:
        # Leave the shared Redis as we found it, including a killed worker's unacked task.
        for tag, raw in connection.hgetall("unacked").items():
            if queue.encode() in raw:
                connection.hdel("unacked", tag)
                connection.zrem("unacked_index", tag)
        connection.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        connection.close()


@pytest.fixture
def worker_env(tmp_path: Path, smtp_server, redis_queue: str) -> dict[str, str]:
    """The environment of the subprocesses, with a migrated file database."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": redis_queue,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": str(smtp_server.port),
        "EMAIL_TIMEOUT": "3",
        "DEFAULT_FROM_EMAIL": "hello@uptown.example",
        "PUBLIC_URL": "https://shop.example",
    }
    subprocess.run(
        [sys.executable, "-m", "extramile", "migrate", "-v", "0"],
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=180,
    )
    return env


def run_scenario(env: dict[str, str], cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "extramile.outreach.tests.worker_scenario", "record"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_worker(env: dict[str, str], cwd: Path, name: str) -> subprocess.Popen:
    log = (cwd / f"{name}.log").open("w")
    # Its own session, so the whole process group (the pool's children too) can be killed.
    return subprocess.Popen(
        [sys.executable, "-m", "extramile", "worker", "--concurrency", "1", "--loglevel", "info"],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def row(db: Path, message_id: int) -> dict:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute(
            "SELECT status, attempts, claimed_until, provider_id, sent_at, uid "
            "FROM outreach_message WHERE id = ?",
            (message_id,),
        ).fetchone()
    return dict(found)


def audit_verbs(db: Path, message_id: int) -> list[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT verb FROM outreach_auditentry WHERE message_id = ? ORDER BY at, id",
            (message_id,),
        ).fetchall()
    return [verb for (verb,) in rows]


def log_of(cwd: Path, *names: str) -> str:
    return "\n".join((cwd / f"{name}.log").read_text() for name in names)


def test_the_worker_command_refuses_without_a_broker(tmp_path: Path):
    # given
    env = {**os.environ, "CELERY_BROKER_URL": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'x'}"}
    # when
    done = subprocess.run(
        [sys.executable, "-m", "extramile", "worker"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then
    assert done.returncode == 1
    assert (
        "background work runs in-process; set CELERY_BROKER_URL=redis://127.0.0.1:6379/0 "
        "to use workers"
    ) in done.stderr


def test_a_real_celery_worker_delivers_the_enqueued_message(
    tmp_path: Path, worker_env: dict[str, str], smtp_server
):
    # given: a message recorded while no worker runs; its delivery waits in Redis
    db = tmp_path / "worker.sqlite3"
    recorded = run_scenario(worker_env, tmp_path)
    message_id = recorded["message_id"]
    assert row(db, message_id)["status"] == "queued"
    assert smtp_server.received == []
    # when: a worker starts
    worker = start_worker(worker_env, tmp_path, "worker")
    try:
        wait_until(
            lambda: row(db, message_id)["status"] == "sent", seconds=60, what="the message sent"
        )
    finally:
        stop(worker)
    # then
    assert len(smtp_server.received) == 1, log_of(tmp_path, "worker")
    mail = smtp_server.received[0]
    assert mail["Subject"] == "The navy suit is in"
    assert mail["Message-ID"] == f"<{recorded['uid']}@uptown.example>"
    assert [part.get_content_type() for part in mail.walk()] == [
        "multipart/related",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/jpeg",
    ]
    assert row(db, message_id)["attempts"] == 1
    assert audit_verbs(db, message_id) == ["queued", "sent"]


def test_a_worker_killed_mid_delivery_leads_to_exactly_one_email_after_restart(
    tmp_path: Path, worker_env: dict[str, str], smtp_server
):
    # given: the SMTP server holds the first delivery at MAIL FROM, before any content; a short
    # lease so the test need not wait five minutes
    smtp_server.recorder.hold_first_mail = True
    env = {**worker_env, "OUTREACH_LEASE_SECONDS": "4"}
    db = tmp_path / "worker.sqlite3"
    message_id = run_scenario(env, tmp_path)["message_id"]
    first = start_worker(env, tmp_path, "first")
    try:
        assert smtp_server.recorder.mail_started.wait(60), log_of(tmp_path, "first")
        held = row(db, message_id)
        assert (held["status"], held["attempts"]) == ("sending", 1)
        # when: the worker is killed in the middle of the delivery (the whole process group)
        stop(first, signal.SIGKILL)
    finally:
        stop(first, signal.SIGKILL)
    smtp_server.recorder.release.set()
    assert first.returncode == -signal.SIGKILL
    # then: nothing arrived, and the row still says a worker holds it
    assert smtp_server.received == []
    assert row(db, message_id)["status"] == "sending"
    # given: the dead worker's lease runs out
    claimed_until = dt.datetime.fromisoformat(row(db, message_id)["claimed_until"])
    wait_until(
        lambda: dt.datetime.now(dt.UTC) > claimed_until.replace(tzinfo=dt.UTC),
        seconds=30,
        what="the lease to expire",
    )
    # when: a worker starts again
    second = start_worker(env, tmp_path, "second")
    try:
        wait_until(
            lambda: row(db, message_id)["status"] == "sent",
            seconds=60,
            what="the message sent after the restart",
        )
        time.sleep(3)  # room for a second, wrong delivery to show up
    finally:
        stop(second)
    # then: delivered exactly once, both attempts on record
    assert len(smtp_server.received) == 1, log_of(tmp_path, "first", "second")
    done = row(db, message_id)
    assert (done["status"], done["attempts"]) == ("sent", 2)
    assert done["sent_at"] is not None
    assert done["provider_id"] == f"<{uuid.UUID(done['uid'])}@uptown.example>"
    assert audit_verbs(db, message_id) == ["queued", "resumed", "sent"]
    assert "Outbox: 1 message(s) due for delivery handed to the queue." in log_of(
        tmp_path, "second"
    )
