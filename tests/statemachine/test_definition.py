"""The rendered ASL: statelint-clean, every transition resolves, every state is reachable, and every path of
SEED-CONTRACT.md exists."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.readme import README, sample_definition, settings_section, state_machine_section
from statemachine.definition import QUERIES
from statemachine.mermaid import transitions


@pytest.fixture(params=["dev", "prod"])
def rendered(request):
    from tests.program.conftest import _run
    return json.loads(_run(request.param).one("aws:sfn/stateMachine:StateMachine").inputs["definition"])


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
    assert states["RejectCommand"]["Parameters"]["reason.$"] == "$.command.reason"
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


def test_readme_diagram_is_current():
    assert state_machine_section() in README.read_text(), "run: python -m harness.readme"


def test_readme_settings_table_is_current():
    assert settings_section() in README.read_text(), "run: python -m harness.readme"
