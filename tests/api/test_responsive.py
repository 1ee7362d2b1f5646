"""The server stays responsive while it ingests an upload, refuses anonymous bodies before reading them, and caps
uploads. A real uvicorn server on a free local port (TestClient runs requests one at a time, so it cannot show it).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn

from ledger_service.api.app import create_app
from ledger_service.demo.amazon_generator import generate
from tests.support.api import bearer, make_token


@pytest.fixture
def server(engine, monkeypatch):
    monkeypatch.setenv("LEDGER_MAX_UPLOAD_BYTES", str(64 << 20))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(100):
        if running.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def big_settlement(tmp_path, megabytes: int) -> bytes:
    """Demo settlements of the US concatenated into one multi-settlement file of about `megabytes`."""
    paths = [p for p in generate(tmp_path, orders=9000, days=91, seed=5) if p.parent.name == "US"]
    header, body = None, []
    for path in paths:
        lines = path.read_bytes().split(b"\n", 1)
        header, body = lines[0], body + [lines[1]]
    data = header + b"\n" + b"".join(body)
    assert len(data) > (megabytes << 20) // 4
    return data


UPLOAD = """
import sys, httpx
url, token, path = sys.argv[1:]
with open(path, "rb") as f:
    r = httpx.post(url, headers={"Authorization": "Bearer " + token}, data={"subsidiary": "US"},
                   files={"file": ("quarter.txt", f)}, timeout=300)
print(r.status_code)
print(r.text)
"""


def test_health_answers_fast_during_a_large_upload(server, engine, tmp_path):
    path = tmp_path / "quarter.txt"
    path.write_bytes(big_settlement(tmp_path, 12))
    token = make_token(engine, "poster")
    # the client is another process: one in this process would compete with the server for the interpreter lock
    upload = subprocess.Popen([sys.executable, "-c", UPLOAD, f"{server}/ingest", token, str(path)],
                              stdout=subprocess.PIPE, text=True)
    latencies = []
    with httpx.Client(timeout=5) as client:
        while upload.poll() is None:
            started = time.perf_counter()
            assert client.get(f"{server}/health").status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.02)
    status, body = upload.stdout.read().split("\n", 1)
    assert status == "201", body
    assert json.loads(body)["document"] == "quarter.txt"  # the upload's name, not the spooled file's
    assert len(latencies) >= 10  # the ingest took long enough to be measured
    assert max(latencies) < 0.1, f"slowest /health {max(latencies) * 1000:.0f} ms of {len(latencies)}"


def test_an_anonymous_body_is_refused_before_it_is_read_and_uploads_are_capped(server, engine):
    with httpx.Client(timeout=30) as client:
        anonymous = client.post(f"{server}/ingest", content=b"x" * (1 << 20),
                                headers={"content-type": "application/octet-stream"})
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        token = make_token(engine, "poster")
        # a declared Content-Length over the limit is answered before any of the body is sent
        host, port = server.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(f"POST /ingest HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {65 << 20}\r\n\r\n"
                        .encode())
            answer = b""
            while b"too_large" not in answer and (chunk := raw.recv(4096)):
                answer += chunk
            answer = answer.decode()
        assert answer.startswith("HTTP/1.1 413") and '"too_large"' in answer

        def chunks():  # no Content-Length: the limit is enforced while reading
            yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
            for _ in range(70):
                yield b"0" * (1 << 20)
        streamed = client.post(f"{server}/ingest", content=chunks(), headers=bearer(token) | {
            "content-type": "multipart/form-data; boundary=x"})
        assert streamed.status_code == 413
