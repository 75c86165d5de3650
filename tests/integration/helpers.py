"""Generic helpers for integration tests (import them: `from helpers import wait_until`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid


def wait_until(predicate, timeout: float = 30, interval: float = 0.05, message: str = "condition"):
    """Polls predicate() until it returns a truthy value (which is returned) or the deadline
    passes (AssertionError naming `message` and the last exception, if any)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}{extra}")
        time.sleep(interval)  # polling interval, not a synchronisation sleep


def unique_name(prefix: str = "t") -> str:
    """A topic/group name unique in this run: only [a-zA-Z0-9._-]."""
    prefix = re.sub(r"[^a-zA-Z0-9._-]+", "-", prefix)[:180].strip("-") or "t"
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class JsonLines(list):
    """Parsed JSON objects printed by a helper program (one per stdout line), plus
    .returncode, .stdout, .stderr, .cmd and .other (stdout lines that were not JSON)."""

    returncode: int
    stdout: str
    stderr: str
    cmd: list
    other: list


def opts_to_args(opts: dict) -> list[str]:
    """{"topic": "t", "from_beginning": True, "config": ["a=1", "b=2"]} ->
    ["--topic", "t", "--from-beginning", "--config", "a=1", "--config", "b=2"] (False/None dropped)."""
    args: list[str] = []
    for k, v in opts.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            args.append(flag)
        elif v is False or v is None:
            continue
        elif isinstance(v, (list, tuple)):
            for item in v:
                args += [flag, str(item)]
        else:
            args += [flag, str(v)]
    return args


def run_json_lines(cmd: list[str], timeout: float = 120, check: bool = True, cwd=None,
                   env: dict | None = None, input: str | None = None) -> JsonLines:
    """Runs cmd and parses each stdout line that is JSON. check=True raises AssertionError on a
    non-zero exit, with the command's output in the message."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=full_env,
                             input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"timed out after {timeout}s: {' '.join(cmd)}\n"
                             f"stdout:\n{e.stdout}\nstderr:\n{e.stderr}") from None
    out = JsonLines()
    out.returncode, out.stdout, out.stderr, out.cmd, out.other = res.returncode, res.stdout, res.stderr, cmd, []
    for line in res.stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            out.other.append(line)
    if check and res.returncode != 0:
        raise AssertionError(f"exit code {res.returncode}: {' '.join(cmd)}\n"
                             f"stdout:\n{res.stdout[-5000:]}\nstderr:\n{res.stderr[-5000:]}")
    return out


def die_with_parent() -> None:
    """preexec_fn for subprocess.Popen: the child gets SIGKILL when the test process dies, so a
    crashed or killed pytest leaves no broker behind (Linux PR_SET_PDEATHSIG; it fires when the
    thread that started the child exits, so start long-lived children from the main thread)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort
        pass
