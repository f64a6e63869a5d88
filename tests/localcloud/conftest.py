import json
import uuid

import pytest

from localcloud.__main__ import run_steps
from localcloud.cloud import LocalCloud
from localcloud.events_file import for_bus


@pytest.fixture(scope="module")
def cloud():
    """One emulated dev stack per test module (deploying takes 10-20 s)."""
    with LocalCloud("dev", progress=lambda message: None) as cloud:
        cloud.deploy()
        yield cloud


def command(detail: dict, time: str = "2022-10-13T19:00:00Z") -> dict:
    return {"Time": time, "DetailType": "orderCommand", "Source": "orderPipeline", "Detail": json.dumps(detail)}


def query(detail: dict) -> dict:
    return {"DetailType": "orderQuery", "Source": "orderPipeline", "Detail": json.dumps(detail)}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def put(cloud: LocalCloud, entries: list[dict]) -> None:
    """PutEvents on the stack's bus, without waiting for the system to settle."""
    cloud.put_events(for_bus(entries, cloud.outputs["EventBridgeARN"]))


def send(cloud: LocalCloud, *steps: list[dict]) -> list[dict]:
    """Send each step and settle; returns the response event detail of each entry, in order."""
    sent = run_steps(cloud, list(steps))
    by_id = {}
    for event in cloud.published():
        detail = event["detail"]
        by_id[detail.get("commandMessageId") or detail.get("queryMessageId")] = event
    responses = []
    for pairs in sent:
        for _, result in pairs:
            event = by_id.get(result.get("EventId"))
            responses.append(event["detail"] if event else None)
    return responses


def function_name(cloud: LocalCloud, handler_package: str) -> str:
    for function in cloud.program.of_type("aws:lambda/function:Function"):
        if function.inputs["handler"].startswith(handler_package + "."):
            return function.state["name"]
    raise LookupError(handler_package)
