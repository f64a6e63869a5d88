"""How long a resume from 0 ACU each database path survives, from the deployed numbers: each function's Lambda
timeout, the connection budget in orders_db.connection, and the callers' retries (the workflow's Retry for the
query functions, the event source mapping's retries for the projector, one invocation for the migrator).
tests/functions/test_db_resume.py shows each path waiting that long against a real held handshake."""

import json

from harness.program import ProgramRun
from orders_db.connection import CONNECT_BUDGET_S, DEADLINE_MARGIN_S
from orders_db.schema_migrations import LOCK_TIMEOUT_S

FUNCTION = "aws:lambda/function:Function"
LONGEST_RESUME_S = 30  # Aurora: ~15 s, 30 s or more after a day paused (aurora-serverless-v2-auto-pause.html)


def timeouts(program: ProgramRun) -> dict[str, int]:
    return {f.inputs["handler"].split(".")[0]: f.inputs["timeout"] for f in program.of_type(FUNCTION)}


def test_the_projector_and_the_migrator_wait_out_a_resume_in_one_invocation(program: ProgramRun):
    limits = timeouts(program)
    assert min(CONNECT_BUDGET_S, limits["projector"] - DEADLINE_MARGIN_S) >= LONGEST_RESUME_S
    assert limits["migrate"] - LOCK_TIMEOUT_S - DEADLINE_MARGIN_S >= LONGEST_RESUME_S
    mapping = program.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs
    assert mapping["maximumRetryAttempts"] >= 1  # and a longer one is retried by the stream


def test_a_query_outlasts_a_resume_through_the_workflows_retries(program: ProgramRun):
    """A query function gives up DEADLINE_MARGIN_S before its timeout with an error the workflow retries (any
    function error matches States.TaskFailed); the attempts and pauses together cover a resume several times
    longer than the longest documented one, within the execution's own timeout."""
    limits = timeouts(program)
    definition = json.loads(program.one("aws:sfn/stateMachine:StateMachine", "routing-workflow").inputs["definition"])
    for state_name, function in (("ItemsSalesReport", "items_sales_report"),
                                 ("MonthlySalesByItem", "monthly_sales_by_item"), ("GetOrder", "get_order")):
        retry = next(r for r in definition["States"][state_name]["Retry"] if "States.TaskFailed" in r["ErrorEquals"])
        attempts = 1 + retry["MaxAttempts"]
        pauses = sum(retry["IntervalSeconds"] * retry.get("BackoffRate", 2.0) ** n for n in range(retry["MaxAttempts"]))
        waiting = attempts * (limits[function] - DEADLINE_MARGIN_S) + pauses
        assert waiting >= 2 * LONGEST_RESUME_S, state_name
        assert attempts * limits[function] + pauses < definition["TimeoutSeconds"], state_name
