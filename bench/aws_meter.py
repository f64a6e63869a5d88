"""What the system asks of AWS, counted while localcloud runs it: every API request the emulator serves (by service
and action, and the capacity units of DynamoDB's item requests), each Lambda invocation's duration, each Step
Functions execution's state transitions and duration, the bytes written to CloudWatch Logs, and the database's CPU
time and redo log.

Installed on localcloud from outside (`Meter.install()` wraps moto's server application and localcloud's Lambda
runtime, and undoes it); `snapshot()` reads everything so far, and `Usage.between(before, after)` is one phase."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from localcloud.cloud import ACCOUNT, REGION, LocalCloud
from localcloud.lambda_runtime import LambdaRuntime

LOG_EVENT_OVERHEAD_BYTES = 26  # CloudWatch Logs counts each event's message in UTF-8 plus 26 bytes
WRITE_UNIT_BYTES, READ_UNIT_BYTES = 1024, 4096
# DynamoDB requests that read or write one item, and whether they write.
ITEM_REQUESTS = {"PutItem": True, "UpdateItem": True, "DeleteItem": True, "GetItem": False}


def item_size(item: dict) -> int:
    """An item's size as DynamoDB bills it: attribute names and values in bytes (the developer guide's rules)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict) -> int:
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        digits = Decimal(content).normalize().as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(_value_size(element) + 1 for element in content)
    if kind == "M":
        return 3 + sum(len(name.encode()) + _value_size(element) + 1 for name, element in content.items())
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in content)
    raise ValueError(f"unknown DynamoDB type {kind}")


@dataclass
class Snapshot:
    requests: Counter = field(default_factory=Counter)  # (service, action) -> count
    write_units: float = 0.0
    read_units: float = 0.0
    invocations: dict[str, list[float]] = field(default_factory=dict)  # function name -> durations (ms)
    executions: int = 0  # how many of cloud.executions existed
    log_bytes: dict[str, int] = field(default_factory=dict)  # log group -> bytes
    server_cpu_s: float = 0.0
    redo_bytes: int = 0
    at: float = 0.0  # time.monotonic() when taken


class Meter:
    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        self._lock = threading.Lock()
        self._requests: Counter = Counter()
        self._units = {"write": 0.0, "read": 0.0}
        self._invocations: dict[str, list[float]] = defaultdict(list)
        self._server_pid = 0

    def install(self) -> Callable[[], None]:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        application, invoke = DomainDispatcherApplication.__call__, LambdaRuntime.invoke
        meter = self

        def counted_application(app, environ, start_response):
            meter._count(environ)
            return application(app, environ, start_response)

        def timed_invoke(runtime, function, event):
            started = time.perf_counter()
            try:
                return invoke(runtime, function, event)
            finally:
                with meter._lock:
                    meter._invocations[function.function_name].append((time.perf_counter() - started) * 1000)

        DomainDispatcherApplication.__call__ = counted_application
        LambdaRuntime.invoke = timed_invoke

        def restore() -> None:
            DomainDispatcherApplication.__call__ = application
            LambdaRuntime.invoke = invoke

        return restore

    def _count(self, environ: dict) -> None:
        credential = environ.get("HTTP_AUTHORIZATION", "").split("Credential=", 1)[-1].split("/")
        service = credential[3] if len(credential) > 3 else "unknown"
        target = environ.get("HTTP_X_AMZ_TARGET")
        path = environ.get("PATH_INFO", "")
        action = target.rsplit(".", 1)[-1] if target else (
            "Invoke" if path.endswith("/invocations") else f"{environ.get('REQUEST_METHOD')} {path}")
        units = None
        if service == "dynamodb" and action in ITEM_REQUESTS:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            units = self._units_of(action, json.loads(body or b"{}"))
        with self._lock:
            self._requests[(service, action)] += 1
            if units is not None:
                self._units["write" if ITEM_REQUESTS[action] else "read"] += units

    def _units_of(self, action: str, request: dict) -> float:
        """Capacity units of one item request: a write of up to 1 KB is one unit (a failed conditional write too),
        a strongly consistent read of up to 4 KB one unit, an eventually consistent one half. Sized from the
        request's item, or the stored item for requests that name only the key."""
        item = request.get("Item") or self._stored(request.get("TableName"), request.get("Key") or {}) or {}
        size = max(item_size(item), 1)
        if ITEM_REQUESTS[action]:
            return math.ceil(size / WRITE_UNIT_BYTES)
        return math.ceil(size / READ_UNIT_BYTES) * (1 if request.get("ConsistentRead") else 0.5)

    def _stored(self, table: str | None, key: dict) -> dict | None:
        from moto.dynamodb.models import dynamodb_backends

        try:
            found = dynamodb_backends[ACCOUNT][REGION].get_item(table, key)
        except Exception:  # noqa: BLE001 - no such table or key: sized as the key alone
            return key
        return found.to_json()["Attributes"] if found is not None else key

    def snapshot(self) -> Snapshot:
        with self._lock:
            snapshot = Snapshot(Counter(self._requests), self._units["write"], self._units["read"],
                                {name: list(values) for name, values in self._invocations.items()},
                                len(self.cloud.executions))
        snapshot.log_bytes = _log_bytes()
        snapshot.server_cpu_s, snapshot.redo_bytes = self._database()
        snapshot.at = time.monotonic()
        return snapshot

    def _database(self) -> tuple[float, int]:
        connection = self.cloud.database.root_connection()
        try:
            with connection.cursor() as cursor:
                if not self._server_pid:
                    cursor.execute("SELECT @@pid_file")
                    with open(cursor.fetchone()[0]) as pid_file:
                        self._server_pid = int(pid_file.read())
                cursor.execute("SHOW GLOBAL STATUS LIKE 'Innodb_os_log_written'")
                redo = int(cursor.fetchone()[1])
        finally:
            connection.close()
        return _cpu_seconds(self._server_pid), redo


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used, in nanoseconds summed over its threads (/proc/PID/task/*/schedstat), since
    /proc/PID/stat counts 10 ms clock ticks, too coarse for a few requests."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                total += int(schedstat.read().split()[0])
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return total / 1e9


def _log_bytes() -> dict[str, int]:
    from moto.logs.models import logs_backends

    backend = logs_backends[ACCOUNT][REGION]
    return {name: sum(len(event.message.encode()) + LOG_EVENT_OVERHEAD_BYTES
                      for stream in group.streams.values() for event in stream.events)
            for name, group in list(backend.groups.items())}


def execution_history(arn: str) -> list[dict]:
    """The history events of an execution (EXPRESS included), from the emulator's backend."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    for machine in stepfunctions_parser_backends[ACCOUNT][REGION].state_machines:
        for execution in machine.executions:
            if execution.exec_arn == arn:
                return list(execution.to_history_output()["events"])
    raise LookupError(arn)
