"""Runs Lambda functions for moto: each function's real deployment archive and layers, unpacked into its own
warm worker process (`localcloud.worker`), with its own environment, as Lambda's execution environments are.

moto runs functions in Docker, which is not needed here: `install()` replaces moto's `_invoke_lambda` with
`LambdaRuntime.invoke`. A handler exception becomes `{"errorType", "errorMessage"}` with the function-error
flag, so Step Functions sees `errorType` as the error name, as on AWS; a timeout kills the environment.
"""

from __future__ import annotations

import io
import json
import os
import selectors
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any, Callable

from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend

WORKER = Path(__file__).with_name("worker.py")


class _Environment:
    """One worker process for one function."""

    def __init__(self, function: LambdaFunction, root: Path, base_env: dict[str, str], log_file: Path):
        self.function_name = function.function_name
        code = root / "code"
        paths = [code]
        _unpack(function.code_bytes, code)
        for index, layer in enumerate(function.layers or []):
            layer_version = get_backend(function.account_id, function.region).layers_versions_by_arn(layer["Arn"])
            _unpack(layer_version.code_bytes, root / f"layer-{index}")
            paths.append(root / f"layer-{index}" / "python")
        env = {**base_env, **function.environment_vars,
               "_HANDLER": function.handler, "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
               "LOCALCLOUD_FUNCTION_ARN": function.function_arn,
               "PYTHONPATH": os.pathsep.join(map(str, paths)), "PYTHONDONTWRITEBYTECODE": "1"}
        self.log_file = log_file
        self.log = open(log_file, "ab")
        self.process = subprocess.Popen([sys.executable, str(WORKER)], env=env, cwd=code,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.lock = threading.Lock()

    def invoke(self, event: Any, timeout: float) -> dict:
        with self.lock:
            self.process.stdin.write(json.dumps({"event": event, "timeout": timeout}).encode() + b"\n")
            self.process.stdin.flush()
            with selectors.DefaultSelector() as selector:
                selector.register(self.process.stdout, selectors.EVENT_READ)
                ready = selector.select(timeout)
            line = self.process.stdout.readline() if ready else b""
            if not line:
                self.stop()
                if ready:
                    tail = self.log_file.read_text(errors="replace")[-2000:]
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
        self.log.close()


def _unpack(archive: bytes, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    zipfile.ZipFile(io.BytesIO(archive)).extractall(target)


class LambdaRuntime:
    """Invokes functions by name, keeping one warm environment per function."""

    def __init__(self, root: Path, base_env: dict[str, str], db_passwords: dict[str, str]):
        self.root = root
        self.base_env = base_env
        self.db_passwords = db_passwords
        self.environments: dict[str, _Environment] = {}
        self.invocations: list[tuple[str, str | None]] = []  # (function name, errorType when it failed)
        self.fault: Callable[[str, Any], dict | None] | None = None  # test hook: return an error to inject
        self._lock = threading.Lock()

    def log_file(self, function_name: str) -> Path:
        return self.root / "logs" / f"{function_name}.log"

    def _environment(self, function: LambdaFunction) -> _Environment:
        with self._lock:
            current = self.environments.get(function.function_name)
            if current is None or not current.alive:
                env = dict(self.base_env)
                user = function.environment_vars.get("DB_USER")
                if user in self.db_passwords:  # only the user this function's role may connect as
                    env["LOCALCLOUD_DB_PASSWORDS"] = json.dumps({user: self.db_passwords[user]})
                self.log_file(function.function_name).parent.mkdir(parents=True, exist_ok=True)
                current = _Environment(function, self.root / "functions" / function.function_name, env,
                                       self.log_file(function.function_name))
                self.environments[function.function_name] = current
            return current

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        """moto's `_invoke_lambda` contract: (payload JSON, is error, logs)."""
        if isinstance(event, (str, bytes)):
            event = json.loads(event or "{}")
        reply = (self.fault(function.function_name, event) if self.fault else None) \
            or self._environment(function).invoke(event, float(function.timeout))
        failed = "error" in reply
        self.invocations.append((function.function_name, reply["error"].get("errorType") if failed else None))
        return json.dumps(reply["error"] if failed else reply["payload"]), failed, ""

    def stop(self) -> None:
        for environment in self.environments.values():
            environment.stop()
        self.environments.clear()

    def install(self) -> Callable[[], None]:
        """Route moto's invocations here; returns the function that restores moto."""
        original = LambdaFunction._invoke_lambda
        LambdaFunction._invoke_lambda = lambda function, event=None: self.invoke(function, event)
        return lambda: setattr(LambdaFunction, "_invoke_lambda", original)
