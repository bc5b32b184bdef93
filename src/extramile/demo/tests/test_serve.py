import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def wait_for(url: str, process: subprocess.Popen, *, seconds: float) -> tuple[int, bytes]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return -1, b""
        try:
            return fetch(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    return 0, b""


@pytest.mark.slow
def test_serve_answers_the_login_page_static_files_and_photos_without_debug(tmp_path: Path):
    # given: a fresh database, a photo on disk, production mode (DEBUG off)
    photo = tmp_path / "media" / "products" / "1" / "demo-001.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "secret.txt").write_text("outside the media folder")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "EXTRAMILE_ENV": "production",
        "SECRET_KEY": "a-test-secret-that-is-not-the-default",
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "extramile", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # when
        status, body = wait_for(f"{base}/login/", process, seconds=30)
        css_status, _ = fetch(f"{base}/static/extramile/app.css")
        photo_status, photo_body = fetch(f"{base}/media/products/1/demo-001.jpg")
        escape_status, _ = fetch(f"{base}/media/products/..%2f..%2fsecret.txt")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    # then
    output = (tmp_path / "serve.log").read_text()
    assert status == 200, output
    assert b"Sign in" in body
    assert css_status == 200
    assert photo_status == 200
    assert photo_body == photo.read_bytes()
    assert escape_status in (400, 404)
    assert f"Serving extramile on http://127.0.0.1:{port}/" in output


def test_links_in_messages_follow_the_served_port_unless_public_url_is_set():
    from extramile.demo.server import public_url_for

    assert public_url_for("127.0.0.1", 8765, configured=None) == "http://127.0.0.1:8765"
    assert public_url_for("0.0.0.0", 9000, configured="") == "http://127.0.0.1:9000"
    assert public_url_for("::1", 8000, configured=None) == "http://[::1]:8000"
    assert public_url_for("127.0.0.1", 8765, configured="https://shop.example") is None
