"""Start campaign servers on free loopback ports in subprocesses, and talk to them.

Used by the server tests and ``benchmarks/bench_campaign_server.py``:

* :func:`campaign_server` runs ``workbench campaign serve`` (invited annotators only);
* :func:`jupyter_server` runs a plain ``jupyter server`` with its own token, where the
  workbench extension is enabled by the installed configuration (the in-JupyterLab case);
* :func:`request` is a small HTTP client (urllib) that returns status, headers and body.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base: str, method: str, path: str, *, token: str | None = None, body=None,
            headers: dict | None = None, timeout: float = 60.0):
    """``(status, headers, body bytes)`` of one request to ``base`` (``http://host:port``)."""
    host, port = base.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"token {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def _wait(proc, base: str, log: Path, timeout: float) -> None:
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}): "
                               + log.read_text(errors="replace")[-3000:])
        try:
            request(base, "GET", "/workbench/api/campaigns", timeout=2)
            return
        except OSError:
            if time.monotonic() - t0 > timeout:
                raise RuntimeError("the server did not start in time: "
                                   + log.read_text(errors="replace")[-3000:]) from None
            time.sleep(0.2)


@contextlib.contextmanager
def _run(cmd, log: Path, base: str, *, env=None, cwd=None, timeout: float = 120.0):
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                cwd=str(cwd or log.parent))
        try:
            _wait(proc, base, log, timeout)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def campaign_server(collection, name: str, *, store: str | None = None, log_dir=None,
                    with_proc: bool = False):
    """``workbench campaign serve COLLECTION --name NAME`` on a free port; yields the base
    URL (``http://127.0.0.1:PORT``), or ``(base URL, subprocess.Popen)`` with ``with_proc``
    (the benchmark reads the server's CPU time)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "workbench.cli", "campaign", "serve", str(collection),
           "--name", name, "--port", str(port), "--ip", "127.0.0.1"]
    if store:
        cmd += ["--store", store]
    log = Path(log_dir or Path(collection).parent) / f"serve-{name}-{port}.log"
    with _run(cmd, log, base) as proc:
        yield (base, proc) if with_proc else base


@contextlib.contextmanager
def jupyter_server(root_dir, token: str, *, user: str = "labowner"):
    """A plain ``jupyter server`` serving ``root_dir`` with its own ``token``, run as login
    name ``user`` (``$USER``); yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    root_dir = Path(root_dir)
    rt = root_dir.parent / f".rt-{port}"
    rt.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root_dir}",
           "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    env = {"JUPYTER_RUNTIME_DIR": str(rt), "USER": user, "JUPYTERHUB_USER": ""}
    with _run(cmd, root_dir.parent / f"jupyter-{port}.log", base, env=env, cwd=root_dir):
        yield base
