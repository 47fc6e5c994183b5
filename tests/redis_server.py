"""A real ``redis-server`` (the Debian package) on 127.0.0.1 at a free port, for one test.

No persistence (``--save '' --appendonly no``), its files in a throwaway directory, in a
process group of its own, stopped in every case: ``with RedisServer(tmp) as redis: ...``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

START_TIMEOUT = 20.0  # seconds for redis-server to answer PING


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` in ``directory``; ``password`` makes it require AUTH.

    :param port: a port of its own, or a free one.
    """

    def __init__(self, directory: Path, password: str | None = None, port: int = 0) -> None:
        self.directory = directory
        self.password = password
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def connection_json(self) -> str:
        """An Airflow ``redis`` connection to it, in the form AIRFLOW_CONN_* takes."""
        conn = {"conn_type": "redis", "host": "127.0.0.1", "port": self.port, "extra": {"db": 0}}
        if self.password:
            conn["password"] = self.password
        return json.dumps(conn)

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: `make test` installs it")
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        if self.password:
            command += ["--requirepass", self.password]
        with open(self.directory / "redis.log", "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log()}")
            try:
                if client.ping():
                    client.close()
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def log(self) -> str:
        return (self.directory / "redis.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
