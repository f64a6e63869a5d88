"""Log events written into the emulator's CloudWatch Logs, where the functions and the workflow send them on AWS
(so `aws logs filter-log-events --log-group-name ...` finds them). The moto server runs in this process: events
go straight into its logs backend."""

from __future__ import annotations

import threading
import time

from moto.logs.models import logs_backends

_lock = threading.Lock()  # moto's log streams are not thread-safe; functions and executions log concurrently


def now_ms() -> int:
    return int(time.time() * 1000)


def put_log_events(account: str, region: str, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    """Append (timestamp in ms, message) events to a stream, creating the group and stream as the service does."""
    if not events:
        return
    backend = logs_backends[account][region]
    with _lock:
        backend.ensure_log_group(group)
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": stamp, "message": message} for stamp, message in events])
