"""EventBridge delivery as on AWS, over moto's buses and rules.

moto cannot deliver to a Step Functions target (it raises NotImplementedError), and builds the envelope per
rule. `install()` replaces `EventsBackend.put_events` with one that validates each entry, builds one envelope
(with an ISO-8601 `time`), records it in the journal (every event published on a bus, in order), and delivers it
to every matching rule's targets: a state machine target starts an execution with the whole envelope as input,
retried per the target's retry policy (a client error is not retried, as on AWS) and then sent to its
dead-letter queue; other targets go to moto.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.exceptions import ClientError
from moto.events.models import EventsBackend
from moto.utilities.arns import parse_arn

MAX_ENTRY_BYTES = 256 * 1024
_THROTTLING = {"ThrottlingException", "TooManyRequestsException"}


def utf8_size(text: str) -> int:
    # A lone surrogate counts as the one byte ("?") that Java's getBytes(UTF_8) in AWS's formula gives it.
    return len(text.encode("utf-8", "replace"))


def entry_size(entry: dict) -> int:
    """AWS's documented PutEvents entry size: Time counts 14 bytes, then the UTF-8 bytes of Source, DetailType,
    Detail and each resource; field names, the bus name and JSON quoting do not count."""
    size = 14 if entry.get("Time") is not None else 0
    size += sum(utf8_size(entry.get(field) or "") for field in ("Source", "DetailType", "Detail"))
    return size + sum(utf8_size(resource) for resource in entry.get("Resources") or [])


def _iso(value: Any) -> str:
    if value is None:
        moment = datetime.now(timezone.utc)
    elif isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(value, timezone.utc)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_error(entry: dict) -> tuple[str, str] | None:
    for field in ("Source", "DetailType", "Detail"):
        if not entry.get(field):
            return "InvalidArgument", f"Parameter {field} is not valid. Reason: {field} is a required argument."
    try:
        detail = json.loads(entry["Detail"])
    except (TypeError, ValueError):
        detail = None
    if not isinstance(detail, dict):
        return "MalformedDetail", "Detail is malformed."
    if entry_size(entry) > MAX_ENTRY_BYTES:
        return "EntrySizeExceeded", "The entry exceeds the 256 KB size limit."
    return None


def _client_error(failure: Exception) -> bool:
    """A 4xx answer other than throttling (e.g. a ValidationException), which EventBridge does not retry."""
    if not isinstance(failure, ClientError):
        return False
    status = failure.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return 400 <= status < 500 and failure.response.get("Error", {}).get("Code") not in _THROTTLING


class EventBridge:
    def __init__(self, start_execution: Callable[[str, str, dict], None], send_to_queue: Callable[[str, str, dict], None]):
        self.start_execution = start_execution  # (state machine ARN, execution name, input)
        self.send_to_queue = send_to_queue  # (queue ARN, body, message attributes)
        self.journal: list[dict] = []
        self.dead_letters: list[dict] = []
        self.fail_targets: Callable[[str], bool] = lambda target_arn: False  # test hook: simulate target failure
        self._lock = threading.Lock()

    def put_events(self, backend: EventsBackend, entries: list[dict]) -> list[dict]:
        results = []
        for entry in entries:
            error = _entry_error(entry)
            if error:
                results.append({"ErrorCode": error[0], "ErrorMessage": error[1]})
                continue
            bus = backend.describe_event_bus(backend._normalize_event_bus_arn(entry.get("EventBusName")))
            envelope = {"version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"],
                        "source": entry["Source"], "account": backend.account_id, "time": _iso(entry.get("Time")),
                        "region": backend.region_name, "resources": entry.get("Resources", []),
                        "detail": json.loads(entry["Detail"])}
            with self._lock:
                self.journal.append({**envelope, "event-bus-name": bus.name})
            results.append({"EventId": envelope["id"]})
            for rule in list(bus.rules.values()):
                if rule.state == "ENABLED" and rule.event_pattern.matches_event(envelope):
                    self._deliver(rule, envelope)
        return results

    def _deliver(self, rule, envelope: dict) -> None:
        others = []
        for target in rule.targets:
            if parse_arn(target["Arn"]).service == "states":
                self._to_state_machine(rule, target, envelope)
            else:
                others.append(target)
        if others:
            delegate = copy.copy(rule)
            delegate.targets = others
            delegate.send_to_targets(envelope)

    def _to_state_machine(self, rule, target: dict, envelope: dict) -> None:
        attempts = 1 + int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185))
        error = "simulated target failure"
        for _ in range(attempts):
            if self.fail_targets(target["Arn"]):
                continue
            try:
                self.start_execution(target["Arn"], str(uuid.uuid4()), envelope)
                return
            except Exception as failure:
                error = str(failure)
                if _client_error(failure):
                    break  # the same request would fail again: EventBridge dead-letters it without retrying
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        record = {"rule": rule.arn, "target": target["Arn"], "event": envelope, "error": error}
        self.dead_letters.append(record)
        if dead_letter:
            # The attributes EventBridge sets on a dead-lettered event.
            self.send_to_queue(dead_letter, json.dumps(envelope), {
                "RULE_ARN": rule.arn, "TARGET_ARN": target["Arn"], "ERROR_CODE": "SDK_CLIENT_ERROR",
                "ERROR_MESSAGE": error[:256]})

    def install(self) -> Callable[[], None]:
        """Take over moto's PutEvents; returns the function that restores moto."""
        original = EventsBackend.put_events
        EventsBackend.put_events = lambda backend, entries: self.put_events(backend, entries)
        return lambda: setattr(EventsBackend, "put_events", original)
