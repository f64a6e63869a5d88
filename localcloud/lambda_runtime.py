"""Runs Lambda functions for moto: each function's real deployment archive and layers, unpacked once, run by warm
worker processes (`localcloud.worker`), each with its own environment, as Lambda's execution environments are.

Invocations run concurrently, each in an environment of its own: an idle environment is reused, another starts
while fewer are busy than the function may have. A function with reserved concurrency has at most that many; one
more invocation is throttled (429 TooManyRequestsException, as on AWS). Without reserved concurrency AWS's limit is
the account's (1,000), which this machine cannot run: localcloud caps each function at `max_environments` and
makes the extra invocations wait for an environment instead of throttling them.

moto runs functions in Docker, which is not needed here: `install()` replaces moto's `_invoke_lambda` with
`LambdaRuntime.invoke`. A handler exception becomes `{"errorType", "errorMessage"}` with the function-error
flag, so Step Functions sees `errorType` as the error name, as on AWS; a timeout kills the environment.

What a function writes goes to CloudWatch Logs as the function's LoggingConfig says: its log group, one log stream
per environment (`YYYY/MM/DD/[$LATEST]<id>`), the platform lines of its log format and system log level, and, in
JSON format, only the application log lines at or above its application log level.
"""

from __future__ import annotations

import collections
import io
import json
import os
import selectors
import subprocess
import sys
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend

from localcloud.cloudwatch_logs import now_ms, put_log_events

WORKER = Path(__file__).with_name("worker.py")
# Environments per function without reserved concurrency: enough for two stream shards and concurrent queries on a
# small machine; each is a Python process of about 60 MB.
MAX_ENVIRONMENTS = max(4, os.cpu_count() or 1)
LEVELS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4, "FATAL": 5, "CRITICAL": 5}


def _logging_env(function: LambdaFunction, stream: str) -> dict[str, str]:
    """The variables Lambda sets for the function's logging (advanced logging controls when the format is JSON)."""
    config = getattr(function, "logging_config", None) or {"LogFormat": "Text",
                                                          "LogGroup": f"/aws/lambda/{function.function_name}"}
    env = {"AWS_LAMBDA_LOG_GROUP_NAME": config["LogGroup"], "AWS_LAMBDA_LOG_STREAM_NAME": stream,
           "LOCALCLOUD_LOG_FORMAT": config["LogFormat"]}
    if config["LogFormat"] == "JSON":
        env |= {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": config.get("ApplicationLogLevel", "INFO"),
                "LOCALCLOUD_SYSTEM_LOG_LEVEL": config.get("SystemLogLevel", "INFO")}
    return env


class _Environment:
    """One worker process for one function."""

    def __init__(self, function: LambdaFunction, code: Path, paths: list[Path], base_env: dict[str, str]):
        self.function_name = function.function_name
        self.code_sha = function.code_sha_256
        self.account, self.region = function.account_id, function.region
        self.log_stream = f"{datetime.now(timezone.utc):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        logging = _logging_env(function, self.log_stream)
        self.log_group = logging["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.json_logs = logging["LOCALCLOUD_LOG_FORMAT"] == "JSON"
        self.min_level = LEVELS.get(logging.get("AWS_LAMBDA_LOG_LEVEL", "TRACE"), 0)
        env = {**base_env, **function.environment_vars,
               "_HANDLER": function.handler, "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
               "LOCALCLOUD_FUNCTION_ARN": function.function_arn,
               "PYTHONPATH": os.pathsep.join(map(str, paths)), "PYTHONDONTWRITEBYTECODE": "1", **logging}
        self.tail: collections.deque[str] = collections.deque(maxlen=40)  # for the error when it dies
        # Its own session: a Ctrl-C on the terminal stops localcloud, which then stops its environments.
        self.process = subprocess.Popen([sys.executable, str(WORKER)], env=env, cwd=code, start_new_session=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.logger = threading.Thread(target=self._forward_logs, daemon=True, name=f"logs-{self.function_name}")
        self.logger.start()

    def _wanted(self, line: str) -> bool:
        """JSON format: an application log line below the application log level is not sent (as Lambda filters)."""
        if not self.json_logs or not line.startswith("{"):
            return True
        try:
            record = json.loads(line)
        except ValueError:
            return True
        level = record.get("level") if isinstance(record, dict) else None
        return not isinstance(level, str) or LEVELS.get(level.upper(), 5) >= self.min_level

    def _forward_logs(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(line)
            if self._wanted(line):
                try:
                    put_log_events(self.account, self.region, self.log_group, self.log_stream, [(now_ms(), line)])
                except Exception:  # the emulator is gone (stopping): the line is only kept in the tail
                    pass

    def invoke(self, event: Any, timeout: float) -> dict:
        """One invocation; the caller holds the environment for its duration (one at a time, as on AWS)."""
        self.process.stdin.write(json.dumps({"event": event, "timeout": timeout}).encode() + b"\n")
        self.process.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            if ready:
                tail = "\n".join(self.tail)[-2000:]
                return {"error": {"errorType": "Runtime.ExitError",
                                  "errorMessage": f"the {self.function_name} environment exited: {tail}"}}
            return {"error": {"errorType": "Sandbox.Timedout",
                              "errorMessage": f"Task timed out after {timeout:.2f} seconds"}}
        return json.loads(line)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        self.logger.join(timeout=5)  # the last lines it wrote, before its stderr closed
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                pipe.close()
            except OSError:
                pass


def _unpack(archive: bytes, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    zipfile.ZipFile(io.BytesIO(archive)).extractall(target)


class Throttled(LambdaClientError):
    """What Lambda answers an invocation beyond the function's reserved concurrency."""
    code = 429

    def __init__(self, function_name: str):
        super().__init__("TooManyRequestsException", f"Rate Exceeded. ({function_name}: reserved concurrency "
                                                     f"reached)")
        self.description = json.dumps({"__type": "TooManyRequestsException", "message": "Rate Exceeded.",
                                       "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                                       "Type": "User"})


@dataclass
class _Pool:
    """A function's environments: the idle ones (the most recently used last) and how many are busy."""
    idle: list[_Environment] = field(default_factory=list)
    busy: int = 0
    peak: int = 0  # the most that were ever busy at once

    def take(self) -> None:
        self.busy += 1
        self.peak = max(self.peak, self.busy)


class LambdaRuntime:
    """Invokes functions by name, keeping warm environments per function (see the module's docstring)."""

    def __init__(self, root: Path, base_env: dict[str, str], db_passwords: dict[str, str],
                 max_environments: int = MAX_ENVIRONMENTS):
        self.root = root
        self.base_env = base_env
        self.db_passwords = db_passwords
        self.max_environments = max_environments
        self.pools: dict[str, _Pool] = collections.defaultdict(_Pool)
        self.started: list[_Environment] = []  # every environment ever started (stopped at the end)
        self.invocations: list[tuple[str, str | None]] = []  # (function name, errorType when it failed)
        self.fault: Callable[[str, Any], dict | None] | None = None  # test hook: return an error to inject
        self.stopped = False  # once stopped, no environment starts again (work still in flight is refused)
        self._changed = threading.Condition()  # an environment was released, or the runtime stopped
        self._unpacked: dict[str, list[Path]] = {}  # code SHA-256 -> [code folder, layer folders...]
        self._unpacking = threading.Lock()

    def peak_concurrency(self, function_name: str) -> int:
        """The most invocations of the function that ran at once."""
        with self._changed:
            return self.pools[function_name].peak if function_name in self.pools else 0

    def _acquire(self, function: LambdaFunction) -> _Environment:
        reserved = function.reserved_concurrency
        limit = self.max_environments if reserved is None else min(self.max_environments, int(reserved))
        retired: list[_Environment] = []  # stopped once the lock is released: stopping waits for the process
        try:
            with self._changed:
                pool = self.pools[function.function_name]
                while True:
                    if self.stopped:
                        raise RuntimeError("localcloud is stopping: no new execution environment")
                    if reserved is not None and pool.busy >= int(reserved):
                        raise Throttled(function.function_name)
                    while pool.idle:
                        environment = pool.idle.pop()
                        if environment.alive and environment.code_sha == function.code_sha_256:
                            pool.take()
                            return environment
                        retired.append(environment)  # its process died, or the function's code changed since
                    if pool.busy < limit:
                        pool.take()
                        break
                    self._changed.wait()  # localcloud's own cap (not AWS's): wait for an environment
        finally:
            for environment in retired:
                environment.stop()
        try:
            environment = self._start_environment(function)
        except BaseException:
            self._release(function, None)
            raise
        return environment

    def _release(self, function: LambdaFunction, environment: _Environment | None) -> None:
        with self._changed:
            self.pools[function.function_name].busy -= 1
            kept = environment is not None and environment.alive and not self.stopped
            if kept:
                self.pools[function.function_name].idle.append(environment)
            self._changed.notify_all()
        if environment is not None and not kept:
            environment.stop()

    def _start_environment(self, function: LambdaFunction) -> _Environment:
        env = dict(self.base_env)
        user = function.environment_vars.get("DB_USER")
        if user in self.db_passwords:  # only the user this function's role may connect as
            env["LOCALCLOUD_DB_PASSWORDS"] = json.dumps({user: self.db_passwords[user]})
        paths = self._code(function)
        environment = _Environment(function, paths[0], paths, env)
        with self._changed:
            self.started.append(environment)
            stopped = self.stopped
        if stopped:  # stopped while it started: it must not outlive the runtime
            environment.stop()
            raise RuntimeError("localcloud is stopping: no new execution environment")
        return environment

    def _code(self, function: LambdaFunction) -> list[Path]:
        """The function's archive and layers, unpacked once per code version (read by all its environments).
        Under a lock of its own: unpacking a layer takes a while, and invocations of other functions go on."""
        with self._unpacking:
            if function.code_sha_256 not in self._unpacked:
                root = self.root / "functions" / function.function_name / uuid.uuid4().hex[:8]
                _unpack(function.code_bytes, root / "code")
                paths = [root / "code"]
                for index, layer in enumerate(function.layers or []):
                    version = get_backend(function.account_id, function.region).layers_versions_by_arn(layer["Arn"])
                    _unpack(version.code_bytes, root / f"layer-{index}")
                    paths.append(root / f"layer-{index}" / "python")
                self._unpacked[function.code_sha_256] = paths
            return self._unpacked[function.code_sha_256]

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        """moto's `_invoke_lambda` contract: (payload JSON, is error, logs)."""
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        reply = self.fault(function.function_name, event) if self.fault else None
        if reply is None:
            environment = self._acquire(function)
            try:
                reply = environment.invoke(event, float(function.timeout))
            finally:
                self._release(function, environment)
        failed = "error" in reply
        self.invocations.append((function.function_name, reply["error"].get("errorType") if failed else None))
        return json.dumps(reply["error"] if failed else reply["payload"]), failed, ""

    def stop(self) -> None:
        with self._changed:
            self.stopped = True
            environments = list(self.started)
            self._changed.notify_all()
        for environment in environments:
            environment.stop()

    def install(self) -> Callable[[], None]:
        """Route moto's invocations here; returns the function that restores moto."""
        original = LambdaFunction._invoke_lambda
        LambdaFunction._invoke_lambda = lambda function, event=None: self.invoke(function, event)
        return lambda: setattr(LambdaFunction, "_invoke_lambda", original)
