"""The rendered ASL: statelint-clean, every transition resolves, every state is reachable, and every path of
SEED-CONTRACT.md exists."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.readme import README, sample_definition, settings_section, state_machine_section
from statemachine.definition import QUERIES, QUERY_STATES
from statemachine.mermaid import transitions


@pytest.fixture(params=["dev", "prod"])
def rendered(request):
    from tests.program.conftest import _run
    return json.loads(_run(request.param).one("aws:sfn/stateMachine:StateMachine", "routing-workflow")
                      .inputs["definition"])


def test_statelint_accepts_the_rendered_definition(rendered, tmp_path: Path):
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(rendered))
    result = subprocess.run([sys.executable, "-m", "statelint", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_catches_a_broken_definition(tmp_path: Path):
    broken = sample_definition()
    del broken["States"]["Done"]
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(broken))
    result = subprocess.run([sys.executable, "-m", "statelint", str(path)], capture_output=True, text=True)
    assert result.returncode != 0


def test_every_transition_resolves_and_every_state_is_reachable(rendered):
    states = rendered["States"]
    edges = transitions(rendered)
    assert all(target in states or target == "[*]" for _, target, _ in edges)
    reachable, frontier = set(), [rendered["StartAt"]]
    while frontier:
        state = frontier.pop()
        if state in reachable or state == "[*]":
            continue
        reachable.add(state)
        frontier += [target for source, target, _ in edges if source == state]
    assert reachable == set(states)


def test_every_contract_path_exists():
    states = sample_definition()["States"]
    text = json.dumps(states)
    for reason in ("orderAlreadyExists", "orderNotFound", "orderAlreadyCancelled", "internalError"):
        assert f'"reason": "{reason}"' in text
    # invalidCommand and unsupportedCommand come from the validator and are published by RejectCommand.
    assert states["RejectCommand"]["Parameters"]["response"]["reason.$"] == "$.command.reason"
    for status in ("orderCreated", "orderCancelled", "rejected", "failed"):
        assert f'"commandStatus": "{status}"' in text
    routed = {rule["And"][-1]["StringEquals"] for rule in states["RouteQuery"]["Choices"] if "And" in rule}
    assert routed == set(QUERIES)
    assert states["CreateOrder"]["Parameters"]["ConditionExpression"] == "attribute_not_exists(orderId)"
    assert states["CreateOrder"]["Parameters"]["Item"]["version"] == {"N": "1"}
    assert "#version = #version + :one" in states["CancelOrder"]["Parameters"]["UpdateExpression"]
    for name, state in states.items():
        if state["Type"] == "Task":
            assert state.get("Retry"), f"{name} has no retry"
            if state["Resource"] != "arn:aws:states:::events:putEvents":
                assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name


def test_system_faults_end_failed_after_publishing():
    states = sample_definition()["States"]
    assert states["CommandOutcome"]["Choices"][0]["Next"] == "SystemFault"
    assert states["QueryOutcome"]["Choices"][0]["Next"] == "SystemFault"
    assert states["SystemFault"]["Type"] == "Fail"


def test_the_output_and_a_faults_cause_are_the_published_detail():
    """What a synchronous caller (StartSyncExecution, the HTTP API) answers with is exactly what the bus got."""
    states = sample_definition()["States"]
    published = {states[name]["Parameters"]["Entries"][0]["Detail.$"]
                 for name in ("PublishCommandResponse", "PublishQueryResponse")}
    assert published == {"$.response"}
    assert states["Done"]["OutputPath"] == "$.response"
    assert states["SystemFault"]["CausePath"] == "States.JsonToString($.response)"


def test_readme_diagram_is_current():
    assert state_machine_section() in README.read_text(), "run: python -m harness.readme"


def test_readme_settings_table_is_current():
    assert settings_section() in README.read_text(), "run: python -m harness.readme"


# -- State growth (issue 15): a static check that no state copies the input, or echoes client data, into the state --

_PATH = re.compile(r"\$\$?(?:\.[A-Za-z0-9_-]+|\[[^\]]*\])*")
# The event's client-controlled parts: its detail and resources, or the whole envelope.
_CLIENT_DATA = re.compile(r"^(\$|\$\$\.Execution\.Input)(\.(detail|resources)([.\[].*)?)?$")
_QUERY_TASKS = set(QUERY_STATES.values())
# Where the client's data may be read into a template: the functions' payloads (a function's answer is bounded by
# the function), and QueryFailed's `query`, which only the three query tasks reach (so it is one of their names).
_CLIENT_READS_ALLOWED = {("ValidateCommand", "Payload.detail")} | {(task, "Payload") for task in _QUERY_TASKS} \
    | {("QueryFailed", "payload.query")}

# The one path outside templates: the execution's output is the response detail the workflow built and published.
_PATHS_ALLOWED = {("Done", "OutputPath", "$.response")}


def _reads(template, prefix: str = ""):
    """(field, JSONPath) of every path a payload template reads, intrinsic functions' arguments included."""
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                yield from ((prefix + key[:-2], path) for path in _PATH.findall(value))
            else:
                yield from _reads(value, f"{prefix}{key}.")
    elif isinstance(template, list):
        for value in template:
            yield from _reads(value, prefix)


def state_growth_violations(definition: dict) -> list[str]:
    states, violations = definition["States"], []
    for name, state in states.items():
        for where, result_path in [("ResultPath", state.get("ResultPath", "$"))] + [
                (f"Catch {c['ErrorEquals']}", c.get("ResultPath", "$")) for c in state.get("Catch", [])]:
            # "$" replaces the state, null keeps it: anything else adds to a state that may already hold the input.
            bounded_addition = state.get("Resource", "").endswith(":dynamodb:getItem") \
                and "ProjectionExpression" in state["Parameters"] and where == "ResultPath"
            if result_path not in ("$", None) and not bounded_addition:
                violations.append(f"{name}: {where} {result_path} adds to the state")
        for field in ("InputPath", "OutputPath", "Result"):
            if field in state and (name, field, state[field]) not in _PATHS_ALLOWED:
                violations.append(f"{name}: {field} (templates only, so that the check below sees every read)")
        for part in ("Parameters", "ResultSelector"):
            for field, path in _reads(state.get(part, {})):
                if _CLIENT_DATA.match(path) and (name, field) not in _CLIENT_READS_ALLOWED:
                    violations.append(f"{name}: {part} {field} reads the client's {path}")
    into_query_failed = {name for name, state in states.items()
                         if any(c["Next"] == "QueryFailed" for c in state.get("Catch", [])) or
                         state.get("Next") == "QueryFailed" or state.get("Default") == "QueryFailed" or
                         any(rule["Next"] == "QueryFailed" for rule in state.get("Choices", []))}
    if not into_query_failed <= _QUERY_TASKS:
        violations.append(f"QueryFailed is reached from {sorted(into_query_failed - _QUERY_TASKS)}")
    return violations


def test_no_state_copies_the_input_or_echoes_unvalidated_client_data(rendered):
    assert state_growth_violations(rendered) == []


@pytest.mark.parametrize("state, change", [
    # The state: UnsupportedQuery echoed the query next to the input.
    ("UnsupportedQuery", {"ResultPath": "$.queryOutput.payload",
                          "Parameters": {"payload": {"query.$": "$.detail.query"}}}),
    ("ValidateCommand", {"ResultPath": "$.validation"}),
    ("GetOrder", {"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "QueryFailed"}]}),
    ("MissingQuery", {"Parameters": {"payload": {"echo.$": "States.JsonToString($$.Execution.Input.detail)"}}}),
    ("RejectCommand", {"Parameters": {"response": {"resources.$": "$.resources"}}}),
    ("LoadExistingOrder", {"Parameters": {"TableName": "t", "Key": {}}}),  # the whole stored item
    ("MissingQuery", {"Next": "QueryFailed"}),
])
def test_the_state_growth_check_catches_copies_and_echoes(state, change):
    definition = sample_definition()
    definition["States"][state] |= change
    assert state_growth_violations(definition)
