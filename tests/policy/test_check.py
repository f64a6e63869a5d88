"""The offline runner: both stacks pass their configs, the table and summary, exit codes and one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from policy import check as runner
from policy.offline import evaluate, load_config, resolve_config
from policy.rules import POLICIES
from tests.policy.helpers import program_run

PACK_DIR = Path(runner.__file__).resolve().parent
ROOT = PACK_DIR.parent


@pytest.fixture
def cached_program(monkeypatch):
    """main() with the program run once per stack per process."""
    monkeypatch.setattr(runner, "run_program", program_run)


# prod's alarm topic has no subscriber until the stack's alarmEmail is set (not in the repository): advisory.
EXPECTED = {"dev": [], "prod": [("advisory", "alarm-topics-subscribed", "alarms-topic")]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_pass_their_config_with_no_mandatory_violation(stack: str):
    path = PACK_DIR / f"config.{stack}.json"
    settings = resolve_config(POLICIES, load_config(path), str(path))
    found = evaluate(program_run(stack).resources, POLICIES, settings)
    assert [(v.level, v.policy, v.resource) for v in found] == EXPECTED[stack]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_main_prints_the_summary_and_exits_0(stack: str, cached_program, capsys):
    assert runner.main(["--stack", stack]) == 0
    out = capsys.readouterr().out
    config = os.path.relpath(PACK_DIR / f"config.{stack}.json")
    resources = len(program_run(stack).resources)
    assert out.splitlines()[-1] == (f"{stack}: 0 mandatory, {len(EXPECTED[stack])} advisory violations"
                                    f" ({len(POLICIES)} policies, {resources} resources, config {config})")


def test_dev_checked_against_prod_config_fails_with_a_table(cached_program, capsys):
    assert runner.main(["--stack", "dev", "--config", str(PACK_DIR / "config.prod.json")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RESOURCE", "LEVEL", "POLICY", "MESSAGE"]
    resources = [line.split()[0] for line in lines[1:-1]]
    assert resources == sorted(resources)  # grouped by resource
    rows = {(level, policy, resource) for resource, level, policy in (line.split()[:3] for line in lines[1:-1])}
    assert rows == {("mandatory", "aurora-backup-retention", "query-db-cluster"),
                    ("mandatory", "log-group-retention", "routing-http-access-logs"),
                    ("mandatory", "aurora-deletion-protection", "query-db-cluster"),
                    ("mandatory", "dynamodb-deletion-protection", "command-orders"),
                    ("mandatory", "dynamodb-point-in-time-recovery", "command-orders"),
                    ("mandatory", "step-functions-execution-data", "routing-workflow"),
                    # dev exports only the error log, keeps the audit log off and has no flow logs.
                    ("mandatory", "aurora-log-exports", "query-db-cluster"),
                    ("mandatory", "aurora-audit-logging", "query-db-cluster"),
                    ("mandatory", "vpc-flow-logs", "query-network-vpc"),
                    # dev skips the final snapshot, has no reader, reserves no concurrency, keeps dead letters 4 days.
                    ("mandatory", "aurora-final-snapshot", "query-db-cluster"),
                    ("mandatory", "aurora-failover-reader", "query-db-cluster"),
                    ("mandatory", "sqs-dead-letter-retention", "query-projector-dlq"),
                    ("mandatory", "sqs-dead-letter-retention", "routing-target-dlq"),
                    ("advisory", "alarm-topics-subscribed", "alarms-topic")} | {
        ("mandatory", "lambda-database-reserved-concurrency", function) for function in (
            "query-get-order-function", "query-items-sales-report-function", "query-migrate-function",
            "query-monthly-sales-by-item-function", "query-projector-function", "ops-read-side-function")} | {
        ("mandatory", "log-group-retention", group) for group in (
            "query-get-order-logs", "query-items-sales-report-logs", "query-migrate-launcher-logs",
            "query-migrate-logs", "query-monthly-sales-by-item-logs", "query-projector-logs",
            "routing-validate-command-logs", "routing-workflow-logs", "query-db-error-logs",
            "ops-driver-logs", "ops-read-side-logs", "ops-workflow-logs")}
    # Columns line up: every message starts where the header's MESSAGE does.
    column = lines[0].index("MESSAGE")
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in lines[1:-1])
    assert lines[-1].startswith("dev: 31 mandatory, 1 advisory violations")


def test_an_unknown_stack_is_one_line_and_exit_2_before_running_anything():
    result = subprocess.run([sys.executable, "-m", "policy.check", "--stack", "qa"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: unknown stack 'qa': expected one of dev, prod")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("text, error", [
    (None, "error: cannot read policy config"),
    ("{", "is not valid JSON"),
    ("[]", "must be a JSON object keyed by policy name"),
    ('{"log-group-retention": {"minimumDays": 0}}', "log-group-retention.minimumDays = 0 is below the minimum 1"),
])
def test_a_missing_or_invalid_config_is_one_line_and_exit_2(text, error, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "run_program", lambda stack: pytest.fail("the program ran with a bad config"))
    path = tmp_path / "config.json"
    if text is not None:
        path.write_text(text)
    assert runner.main(["--stack", "dev", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and error in captured.err and captured.err.count("\n") == 1


def test_a_failing_program_is_one_line_and_exit_2(monkeypatch, capsys):
    def fail(stack):
        raise pulumi.RunError("invalid setting cqrs-orders:backupRetentionDays = 0: 1..35")

    monkeypatch.setattr(runner, "run_program", fail)
    assert runner.main(["--stack", "prod"]) == 2
    assert capsys.readouterr().err == ("error: the program failed for stack prod: invalid setting "
                                       "cqrs-orders:backupRetentionDays = 0: 1..35\n")
