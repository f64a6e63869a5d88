"""EventBridge delivery as on AWS, over moto's buses and rules.

moto cannot deliver to a Step Functions target (it raises NotImplementedError), and builds the envelope per rule
(and in a form its other targets fail on). `install()` replaces `EventsBackend.put_events` with one that checks the
request as AWS does (1 to 10 entries, at most 256 KB in all), validates each entry, builds one envelope (with an
ISO-8601 `time`), records it in the journal (every event published on a bus, in order) and answers at once: delivery
is asynchronous, as on AWS. A delivery thread then hands each event, in order, to every matching rule's targets: a
state machine target starts an execution with the whole envelope as input, retried per the target's retry policy (a
client error is not retried, as on AWS) and then sent to its dead-letter queue; a standard SQS queue receives the
event as JSON, as a subscriber reads it on AWS; other targets go to moto.
"""

from __future__ import annotations

import copy
import json
import queue
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.exceptions import ClientError
from moto.events.exceptions import ValidationException
from moto.events.models import EventsBackend
from moto.utilities.arns import parse_arn

MAX_ENTRY_BYTES = 256 * 1024  # an entry, and all the entries of one request together
MAX_ENTRIES = 10  # per PutEvents request
MAX_DETAIL_DEPTH = 1100  # "PutEvents will only process nested JSON up to 1100 levels deep"
INT64 = (-2 ** 63, 2 ** 63 - 1)  # the documented range of a JSON integer in an event
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


def _checked(entry: dict) -> tuple[tuple[str, str] | None, dict | None]:
    """(error code and message, None) for an entry EventBridge fails, else (None, its parsed detail)."""
    for field in ("Source", "DetailType", "Detail"):
        if not entry.get(field):
            return ("InvalidArgument", f"Parameter {field} is not valid. Reason: {field} is a required argument."), None
    try:
        detail = _parse_detail(entry["Detail"])
    except (TypeError, ValueError, RecursionError):
        detail = None
    if not isinstance(detail, dict):
        return ("MalformedDetail", "Detail is malformed."), None
    if entry_size(entry) > MAX_ENTRY_BYTES:
        return ("EntrySizeExceeded", "The entry exceeds the 256 KB size limit."), None
    return None, detail


def _entry_error(entry: dict) -> tuple[str, str] | None:
    return _checked(entry)[0]


def _int64(text: str) -> int:
    value = int(text)
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"integer out of range: {text}")
    return value


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _parse_detail(text: str):
    """The Detail as EventBridge reads it: JSON within the documented nesting depth and integer range."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", _STRING.sub("", text)):  # nesting outside strings, without recursing
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DETAIL_DEPTH:
        raise ValueError("nested too deeply")
    return json.loads(text, parse_int=_int64)


def check_request(entries: list[dict]) -> None:
    """The request-level checks: a request that fails one is refused as a whole (HTTP 400)."""
    if not entries:
        raise ValidationException("1 validation error detected: Value '[]' at 'entries' failed to satisfy "
                                  "constraint: Member must have length greater than or equal to 1")
    if len(entries) > MAX_ENTRIES:
        raise ValidationException("1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
                                  f"failed to satisfy constraint: Member must have length less than or equal to "
                                  f"{MAX_ENTRIES}")
    if len(entries) > 1 and sum(entry_size(entry) for entry in entries) > MAX_ENTRY_BYTES:
        raise ValidationException("Total size of the entries in the request is over the limit.")


def _plain_queue(arn, target: dict) -> bool:
    """A standard SQS queue target without input transformation, which localcloud delivers itself."""
    return arn.service == "sqs" and not arn.resource_id.endswith(".fifo") and not target.get("InputPath") \
        and not target.get("InputTransformer")


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
        self._pending: queue.Queue = queue.Queue()  # (bus, envelope) accepted, not yet delivered
        self._worker: threading.Thread | None = None

    def put_events(self, backend: EventsBackend, entries: list[dict]) -> list[dict]:
        check_request(entries)
        results = []
        for entry in entries:
            error, detail = _checked(entry)
            if error:
                results.append({"ErrorCode": error[0], "ErrorMessage": error[1]})
                continue
            bus = backend.describe_event_bus(backend._normalize_event_bus_arn(entry.get("EventBusName")))
            envelope = {"version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"],
                        "source": entry["Source"], "account": backend.account_id, "time": _iso(entry.get("Time")),
                        "region": backend.region_name, "resources": entry.get("Resources", []),
                        "detail": detail}
            with self._lock:
                self.journal.append({**envelope, "event-bus-name": bus.name})
                self._pending.put((bus, envelope))
                if self._worker is None:
                    self._worker = threading.Thread(target=self._deliver_pending, name="eventbridge-delivery",
                                                    daemon=True)
                    self._worker.start()
            results.append({"EventId": envelope["id"]})
        return results

    def _deliver_pending(self) -> None:
        while True:
            item = self._pending.get()
            try:
                if item is None:
                    return
                bus, envelope = item
                for rule in list(bus.rules.values()):
                    if rule.state == "ENABLED" and rule.event_pattern.matches_event(envelope):
                        self._deliver(rule, envelope)
            except Exception as error:  # never lose the thread: report and go on with the next event
                sys.stderr.write(f"localcloud: delivering event {item[1]['id']} failed: {error!r}\n")
            finally:
                self._pending.task_done()

    @property
    def idle(self) -> bool:
        """Every accepted event has been handed to its targets."""
        return self._pending.unfinished_tasks == 0

    def wait_until_delivered(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.idle:
            if time.monotonic() > deadline:
                raise TimeoutError(f"events still being delivered after {timeout:.0f}s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop delivering (what is still pending is dropped, as the emulator is going away)."""
        with self._lock:
            while True:
                try:
                    self._pending.get_nowait()
                except queue.Empty:
                    break
                self._pending.task_done()
            if self._worker is not None:
                self._pending.put(None)
                self._worker = None

    def _deliver(self, rule, envelope: dict) -> None:
        others = []
        for target in rule.targets:
            arn = parse_arn(target["Arn"])
            if arn.service == "states":
                self._to_state_machine(rule, target, envelope)
            elif _plain_queue(arn, target):  # a subscriber's queue: the event as JSON (or the target's constant Input)
                self.send_to_queue(target["Arn"], target.get("Input") or json.dumps(envelope), {})
            else:
                others.append(target)
        if others:  # moto's delivery wants its own form of the event: epoch time and an ingestion time
            delegate = copy.copy(rule)
            delegate.targets = others
            delegate.send_to_targets({**copy.deepcopy(envelope), "ingestion-time": time.time(),
                                      "time": datetime.fromisoformat(envelope["time"].replace("Z", "+00:00"))
                                     .timestamp()})

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
        original, recursion_limit = EventsBackend.put_events, sys.getrecursionlimit()
        EventsBackend.put_events = lambda backend, entries: self.put_events(backend, entries)
        sys.setrecursionlimit(max(recursion_limit, 4 * MAX_DETAIL_DEPTH))  # json parses the deepest Detail AWS takes

        def restore() -> None:
            self.stop()
            EventsBackend.put_events = original
            sys.setrecursionlimit(recursion_limit)

        return restore
