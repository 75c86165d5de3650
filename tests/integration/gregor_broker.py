"""The Gregor broker as a test process: Broker starts `gregor serve` on a free 127.0.0.1 port
with its own data dir, waits until it answers a real ApiVersions v0 request, and stops,
kills or restarts it. conftest.py wraps it in the `broker` / `broker_factory` fixtures.

    b = Broker(tmp_path / "b", config={"num.partitions": 3}).start()
    b.bootstrap, b.data_dir, b.stop() -> exit code, b.kill9(), b.restart()
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from helpers import die_with_parent
from kafka_wire import free_port as _free_port, wait_for_api_versions

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_TAIL_LINES = 150


def gregor_bin() -> Path:
    env = os.environ.get("GREGOR_BIN")
    return Path(env) if env else REPO_ROOT / "build" / "gregor"


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no {path})"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- Gregor broker


class BrokerError(AssertionError):
    pass


class Broker:
    """One Gregor broker process: `gregor serve --set listeners=... --set log.dirs=... --set node.id=...`.

    workdir holds data/ (log.dirs), stdout.log and stderr.log (appended across restarts).
    config: extra keys passed as --set KEY=VALUE; args: extra raw command-line arguments.
    """

    def __init__(self, workdir: str | os.PathLike, *, port: int | None = None, node_id: int = 1,
                 config: dict[str, object] | None = None, args: list[str] | None = None,
                 binary: str | os.PathLike | None = None, env: dict[str, str] | None = None,
                 start_timeout: float | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.stdout_path = self.workdir / "stdout.log"
        self.stderr_path = self.workdir / "stderr.log"
        self.host = "127.0.0.1"
        self.port = port or _free_port()
        self.node_id = node_id
        self.config = dict(config or {})
        self.args = list(args or [])
        self.binary = Path(binary) if binary else gregor_bin()
        self.env = env
        self.start_timeout = start_timeout or float(os.environ.get("GREGOR_START_TIMEOUT", "30"))
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.api_versions = None  # ApiVersionsResult of the last successful start

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        sets = {
            "listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "log.dirs": str(self.data_dir),
            "node.id": self.node_id,
        }
        sets.update(self.config)
        cmd = [str(self.binary), "serve"]
        for k, v in sets.items():
            cmd += ["--set", f"{k}={v}"]
        return cmd + self.args

    def start(self, timeout: float | None = None) -> "Broker":
        """Starts the process and waits until it answers ApiVersions v0 (or fails)."""
        if self.running():
            raise BrokerError("broker already running")
        if not self.binary.exists():
            raise BrokerError(f"Gregor binary not found: {self.binary} (run `make`, or set GREGOR_BIN)")
        self.starts += 1
        env = dict(os.environ)
        env.update(self.env or {})
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            banner = f"===== start #{self.starts}: {' '.join(self.command())}\n".encode()
            out.write(banner)
            err.write(banner)
            out.flush()
            err.flush()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         cwd=self.workdir, env=env, preexec_fn=die_with_parent)
        try:
            self.api_versions = wait_for_api_versions(self.host, self.port, timeout or self.start_timeout,
                                                      alive=self.running)
        except Exception as e:
            rc = self.kill9()
            raise BrokerError(f"Gregor broker did not come up on {self.bootstrap} (exit code {rc}): {e}\n"
                              f"--- {self.stderr_path} (tail) ---\n{_tail(self.stderr_path)}") from None
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        """Sends sig and waits for the exit; returns the exit code (negative: killed by a signal).

        If the process is still alive after `timeout` seconds it is SIGKILLed and BrokerError
        is raised: a broker that ignores SIGTERM is a bug."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise BrokerError(f"Gregor broker (pid {self.proc.pid}) did not exit within {timeout}s "
                                  f"of signal {signal.Signals(sig).name}; killed with SIGKILL\n"
                                  f"--- {self.stderr_path} (tail) ---\n{_tail(self.stderr_path)}")
        return self.proc.returncode

    def kill9(self) -> int | None:
        """SIGKILL (a crash, as far as the broker can tell); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait()

    def restart(self, sig: int = signal.SIGTERM, timeout: float | None = None) -> "Broker":
        """Stops (if running) and starts again on the same port with the same data dir."""
        self.stop(sig)
        return self.start(timeout)

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def log_sections(self) -> list[tuple[str, str]]:
        name = f"gregor broker node {self.node_id} {self.bootstrap}"
        return [(f"{name} stderr", _tail(self.stderr_path)), (f"{name} stdout", _tail(self.stdout_path))]

    def __repr__(self) -> str:
        state = "running" if self.running() else "stopped"
        return f"<Broker {self.bootstrap} node {self.node_id} {state} {self.workdir}>"
