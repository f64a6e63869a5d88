"""A preview prices the stack it proposes and the stack deployed, from the old and new states the engine reports for
every resource (here: dev's real resource graph, as `same` steps, with the projector's memory doubled and a
dashboard added), in text, JSON and the pull-request summary."""

import json

import pytest

from bench import cost_model
from harness.program import run_program

PROJECTOR = "aws:lambda/function:Function::query-projector-function"


def use_steps(fake, steps, tmp_path):
    path = tmp_path / "steps.json"
    path.write_text(json.dumps(steps))
    fake.knob("STEPS_FILE", str(path))


@pytest.fixture(scope="module")
def steps():
    """dev's resources as a preview reports them when the projector's memory goes from 512 to 1024 MB and a
    dashboard is added."""
    found = []
    for r in run_program("dev").resources:
        state = json.loads(json.dumps({"inputs": r.inputs, "outputs": r.state, "id": r.id}, default=str))
        step = {"op": "same", "urn": r.urn, "type": r.type, "old": state, "new": state}
        if r.urn.endswith(PROJECTOR):
            assert state["inputs"]["memorySize"] == 512
            step = {**step, "op": "update", "diffs": ["memorySize"],
                    "new": {**state, "inputs": {**state["inputs"], "memorySize": 1024}}}
        found.append(step)
    dashboard = found[0]["urn"].rsplit("::", 2)[0] + "::aws:cloudwatch/dashboard:Dashboard::ops-dashboard"
    found.append({"op": "create", "urn": dashboard, "type": "aws:cloudwatch/dashboard:Dashboard",
                  "new": {"inputs": {"dashboardBody": "{}"}}})
    return found


def test_a_preview_prints_the_cost_and_its_change_against_the_deployed_stack(fake, steps, tmp_path):
    fake.seed("dev", results=("succeeded",))
    use_steps(fake, steps, tmp_path)
    summary = tmp_path / "summary.md"

    run = fake.run("preview", "--stack", "dev", "--summary-file", str(summary))

    assert run.code == 0, run.err
    usage, measured = cost_model.recorded_usage("dev")
    projector_ms = usage["createOrder"]["lambda"]["projector"]["billed_ms"]
    # Half a GB more for each billed millisecond of the projector, a million times, at the arm64 price.
    extra = round(projector_ms / 1000 * 0.5 * 0.0000133334 * 1_000_000, 2)
    cost = fake.run("preview", "--stack", "dev", "--json").json()["cost"]
    assert cost["usageMeasuredOn"] == measured == "dev"
    assert cost["change"]["idleUsdPerMonth"] == 3.0  # the dashboard; nothing else is always on
    assert cost["change"]["usdPerMillionCreateOrder"] == pytest.approx(extra, abs=0.011)
    assert cost["change"]["usdPerMillionQueries"] == 0
    assert cost["proposed"]["idleUsdPerMonth"] == round(cost["deployed"]["idleUsdPerMonth"] + 3.0, 2)

    idle = cost["proposed"]["idleUsdPerMonth"]
    assert f"    idle per month: ${idle:.2f} (deployed ${idle - 3:.2f}, change +$3.00)" in run.out.splitlines()
    markdown = summary.read_text().splitlines()
    table = markdown.index("| | this change | deployed | change |")
    assert markdown[table - 2].startswith("**Cost** (list prices of ")
    assert markdown[table + 2] == f"| idle per month | ${idle:.2f} | ${idle - 3:.2f} | +$3.00 |"


def test_a_first_preview_has_nothing_deployed_to_compare_with(fake, steps, tmp_path):
    created = [{**step, "op": "create", "old": None} for step in steps]
    use_steps(fake, [{k: v for k, v in step.items() if v is not None} for step in created], tmp_path)

    cost = fake.run("preview", "--stack", "dev", "--json").json()["cost"]

    assert cost["deployed"] is None and "change" not in cost
    assert cost["proposed"]["usdPerMillionCreateOrder"] > 0


def test_a_preview_without_resource_states_reports_no_cost(fake):
    document = fake.run("preview", "--stack", "dev", "--json").json()
    assert "cost" not in document
