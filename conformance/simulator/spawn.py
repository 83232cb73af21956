"""A real ``open311-conformance serve`` process: started, its URL and key read, then stopped
by a signal or killed. For the load benchmark and the tests that need a process to signal or
``kill -9``, which an in-process ``start()`` cannot give.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the checkout this module belongs to: a child started from a worktree imports the same code
REPO = Path(__file__).resolve().parents[2]


class ServeFailed(RuntimeError):
    """The process ended or stayed silent before printing its Base URL and API key."""


class ServeProcess:
    """``serve --port 0`` in a child process; stdout is read for the URL, stderr (the request
    log) goes to a temporary file so a busy server never blocks on a full pipe."""

    def __init__(self, *args: str, startup_timeout: float = 30.0) -> None:
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                              if p)}
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by __exit__
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance.cli", "serve", "--port", "0", *args],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=self._stderr)
        self._out = b""
        try:
            lines = self._read_until(b"API key: ", startup_timeout)
        except ServeFailed:
            self.kill()
            raise
        fields = dict(line.split(": ", 1) for line in lines if ": " in line)
        self.base_url = fields["Base URL"].strip()
        self.api_key = fields["API key"].strip()

    def _read_until(self, prefix: bytes, timeout: float) -> list[str]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while not any(line.startswith(prefix) for line in self._out.split(b"\n")[:-1]):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ServeFailed(f"no {prefix.decode().strip()} line within {timeout:g} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise ServeFailed(f"serve ended before printing its URL: {self.stderr()[-400:]}")
            self._out += chunk
        return self._out.decode().splitlines()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Send ``sig`` and wait; the exit code, or None if it did not end within ``timeout``
        (then it is killed)."""
        self.process.send_signal(sig)
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self._out += out or b""
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def stdout(self) -> str:
        return self._out.decode(errors="replace")

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
        self._stderr.close()

