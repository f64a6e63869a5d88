"""dbIdleSessionTimeoutSeconds end to end: localcloud applies the instances' parameter group to its server, as
Aurora does; after the timeout no function session is left open (nothing would keep Aurora from pausing), and the
next command and query are answered by the same warm functions without a single error or retry."""

import time

import pytest

from localcloud.cloud import LocalCloud
from tests.localcloud.conftest import command, function_name, query, send, unique

IDLE_TIMEOUT_S = 30  # the setting's minimum
FUNCTION_USERS = ("cqrs_projector", "cqrs_reader")


@pytest.fixture(scope="module")
def cloud():
    with LocalCloud("dev", progress=lambda message: None,
                    config_overrides={"cqrs-orders:dbIdleSessionTimeoutSeconds": str(IDLE_TIMEOUT_S)}) as cloud:
        cloud.deploy()
        yield cloud


def function_sessions(cloud) -> list[tuple]:
    return cloud.read_model("SELECT USER, ID FROM information_schema.PROCESSLIST WHERE USER IN (%s, %s)",
                            FUNCTION_USERS)


def log_lines(cloud, function: str, pattern: str) -> list[str]:
    logs = cloud.clients["logs"]
    name = function_name(cloud, function)  # the log group the function's LoggingConfig names, as on AWS
    group = cloud.clients["lambda"].get_function_configuration(FunctionName=name)["LoggingConfig"]["LogGroup"]
    events = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
    return [event["message"] for event in events]


def test_idle_function_sessions_are_closed_by_the_server_and_the_next_requests_succeed(cloud):
    assert cloud.read_model("SELECT @@GLOBAL.wait_timeout, @@GLOBAL.interactive_timeout") == [
        (IDLE_TIMEOUT_S, IDLE_TIMEOUT_S)]
    first, second = unique("idle"), unique("idle")
    created, answered = send(cloud, [command({"command": "createOrder", "orderId": first,
                                              "items": [{"itemid": "z3333", "quantity": 2}]})],
                             [query({"query": "getOrder", "orderId": first})])
    assert created["commandStatus"] == "orderCreated" and answered["queryStatus"] == 200
    assert {user for user, _ in function_sessions(cloud)} == set(FUNCTION_USERS)  # warm, connections cached

    time.sleep(IDLE_TIMEOUT_S + 2)
    assert function_sessions(cloud) == []  # closed server-side: Aurora could pause now

    created, answered = send(cloud, [command({"command": "createOrder", "orderId": second,
                                              "items": [{"itemid": "z3333", "quantity": 5}]})],
                             [query({"query": "getOrder", "orderId": second})])
    assert created["commandStatus"] == "orderCreated"
    assert answered["queryStatus"] == 200 and answered["queryResult"]["items"] == [{"itemid": "z3333", "quantity": 5}]
    assert cloud.read_model("SELECT total_ordered FROM item_totals WHERE item_id = 'z3333'") == [(7,)]
    assert cloud.queue_messages(cloud.outputs["ProjectorDlqUrl"]) == []
    # Each warm function found its closed connection before using it: no error logged, one invocation per query.
    for function in ("projector", "get_order"):
        assert log_lines(cloud, function, '"ERROR"') == [], function
    assert len(log_lines(cloud, "get_order", '"query answered"')) == 2
