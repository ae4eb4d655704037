"""Start and stop gunicorn on 127.0.0.1 for a benchmark phase."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class GunicornConfig:
    workers: int
    threads: int
    worker_class: str = "gthread"

    def args(self) -> list[str]:
        return ["--workers", str(self.workers), "--worker-class", self.worker_class, "--threads", str(self.threads)]

    def label(self) -> str:
        return f"--workers {self.workers} --worker-class {self.worker_class} --threads {self.threads}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn serving `app_module` with `config`; a context manager that always stops it."""

    def __init__(self, app_module: str, config: GunicornConfig, env: dict[str, str] | None = None,
                 log_path: Path | None = None, ready_path: str = "/"):
        self.app_module, self.config, self.ready_path = app_module, config, ready_path
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_path or ROOT / "bench" / "out" / "gunicorn.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(gunicorn), *self.config.args(), "--bind", f"127.0.0.1:{self.port}", "--no-control-socket",
             "--timeout", "60", "--log-level", "warning", self.app_module],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {seconds} s: see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
