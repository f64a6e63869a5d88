"""One Lambda execution environment: a process that imports a function's real handler once (a warm container)
and answers invocations, one JSON line in, one JSON line out, on its original stdout.

Started by `localcloud.lambda_runtime` with the function's environment, its unpacked code and layers on
PYTHONPATH. The function's own output (JSON logs, EMF metrics) goes to stderr, with the platform's lines around
each invocation (START/END/REPORT in Text format; platform.* records in JSON format when the system log level
lets them through), which the runtime sends to the function's CloudWatch Logs stream.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import json
import math
import os
import resource
import sys
import time
import traceback
import uuid
from datetime import datetime, timezone


class LambdaContext:
    def __init__(self, deadline: float):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = os.environ["LOCALCLOUD_FUNCTION_ARN"]
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _emulate_iam_database_auth() -> None:
    """Aurora checks IAM tokens with its AWS authentication plugin; the local MariaDB has password users instead.
    The function still signs its token (the real code runs); the token then stands for that user's password."""
    passwords = json.loads(os.environ.pop("LOCALCLOUD_DB_PASSWORDS", "{}"))
    if not passwords:
        return
    from orders_db import rds_token

    sign = rds_token.auth_token

    def auth_token(host, port, user, region, credentials, now=None):
        sign(host, port, user, region, credentials, now)  # fails as it would on AWS, e.g. without credentials
        if user not in passwords:
            raise ValueError(f"localcloud: no IAM-authenticated database user {user!r}")
        return passwords[user]

    rds_token.auth_token = auth_token


def _elf_machine(path: str) -> int | None:
    """The machine an ELF file is built for (None: not ELF)."""
    try:
        with open(path, "rb") as file:
            header = file.read(20)
    except OSError:
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


class _HostBuild:
    """Finds the named top-level packages in the host's environment only (a meta path finder)."""

    def __init__(self, names: set[str], path: list[str]):
        self.names, self.path = names, path

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.names:
            return importlib.machinery.PathFinder.find_spec(fullname, self.path)
        return None


def _use_host_builds_of_foreign_binaries() -> None:
    """The layer is built for Lambda (arm64, CPython 3.12): a package with extension modules this machine cannot load
    (cryptography's, for aarch64) is imported from localcloud's own environment instead, only when that holds the
    same version of the same distribution (otherwise the layer's copy stays, and fails as it would)."""
    layer_paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    host_path = [p for p in sys.path if p and p not in layer_paths]
    host_machine = _elf_machine(sys.executable)
    names = set()
    for entry in layer_paths:
        foreign = set()
        for root, _, files in os.walk(entry):
            for file in files:
                if file.endswith(".so") and _elf_machine(os.path.join(root, file)) not in (None, host_machine):
                    foreign.add(os.path.relpath(os.path.join(root, file), entry).split(os.sep)[0].split(".")[0])
        if not foreign:
            continue
        for distribution in importlib.metadata.distributions(path=[entry]):
            owned = {str(f).split("/")[0].split(".")[0] for f in distribution.files or ()} & foreign
            name, version = distribution.metadata["Name"], distribution.version
            try:
                host_version = next(d.version for d in importlib.metadata.distributions(name=name, path=host_path))
            except StopIteration:
                continue
            if owned and host_version == version:
                names |= owned
    if names:
        sys.meta_path.insert(0, _HostBuild(names, host_path))


def _platform(kind: str, request_id: str, seconds: float | None = None) -> None:
    """Lambda's own lines around an invocation, in the function's log format (JSON: only at system level INFO or
    DEBUG, which is where platform.start, platform.runtimeDone and platform.report belong)."""
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
    used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    duration = round((seconds or 0) * 1000, 2)
    if os.environ.get("LOCALCLOUD_LOG_FORMAT") == "JSON":
        if os.environ.get("LOCALCLOUD_SYSTEM_LOG_LEVEL", "INFO") not in ("DEBUG", "INFO"):
            return
        record = {"requestId": request_id}
        if kind == "start":
            record["version"] = "$LATEST"
        else:
            record |= {"status": "success", "metrics": {"durationMs": duration}}
            if kind == "report":
                record["metrics"] |= {"billedDurationMs": math.ceil(duration), "memorySizeMB": memory,
                                      "maxMemoryUsedMB": used}
        line = json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                           "type": f"platform.{kind}", "record": record})
    elif kind == "start":
        line = f"START RequestId: {request_id} Version: $LATEST"
    elif kind == "runtimeDone":
        line = f"END RequestId: {request_id}"
    else:
        line = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {math.ceil(duration)} "
                f"ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB")
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _error(error: BaseException, error_type: str | None = None) -> dict:
    return {"errorType": error_type or type(error).__name__, "errorMessage": str(error),
            "stackTrace": traceback.format_exception(error)}


def main() -> None:
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the function prints lands in its log, not in the protocol
    _emulate_iam_database_auth()
    _use_host_builds_of_foreign_binaries()
    module_name, function_name = os.environ["_HANDLER"].rsplit(".", 1)
    try:
        handler, init_error = getattr(importlib.import_module(module_name), function_name), None
    except Exception as error:  # reported on every invocation, as Lambda does
        handler, init_error = None, _error(error, "Runtime.ImportModuleError")
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(time.monotonic() + request["timeout"])
        started = time.monotonic()
        _platform("start", context.aws_request_id)
        if init_error:
            reply = {"error": init_error}
        else:
            try:
                reply = {"payload": handler(request["event"], context)}
            except Exception as error:
                reply = {"error": _error(error)}
        sys.stdout.flush()
        _platform("runtimeDone", context.aws_request_id, time.monotonic() - started)
        _platform("report", context.aws_request_id, time.monotonic() - started)
        replies.write(json.dumps(reply, default=str) + "\n")


if __name__ == "__main__":
    main()
