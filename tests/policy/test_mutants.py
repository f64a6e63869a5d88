"""The mutation suite (policy/mutants): every regression is caught by its intended policy at its intended level and
by nothing else, every accepted survivor still survives and is listed in policy/README.md with its reason, and the
violations read as the issue asks: one line each, naming the resource, the property and the fix.

The kill rate is recorded as a user property; tests/conftest.py prints it in pytest's terminal summary."""

from pathlib import Path

import pytest

from policy import mutants
from policy.mutants import MUTANTS
from policy.mutants.survivors import SURVIVORS

README = Path(mutants.__file__).resolve().parents[1] / "README.md"
pytestmark = pytest.mark.xdist_group("mutants")  # one worker runs the suite once (./dev test: --dist loadgroup)


@pytest.fixture(scope="module")
def results():
    return mutants.run_all()


def test_every_mutant_is_killed_as_intended_and_every_survivor_is_accepted(results, record_property):
    record_property("mutation suite", mutants.summary(results))
    # On failure pytest shows what `python -m policy.mutants` prints: the table, the unexplained mutants, the rate.
    assert all(r.passed for r in results), mutants.render(results)


def test_the_command_prints_the_table_and_the_kill_rate(monkeypatch, capsys, results):
    monkeypatch.setattr(mutants, "run_all", lambda: results)
    assert mutants.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["MUTANT", "STACK", "EXPECTED", "RESULT", "REPORTED", "BY"]
    assert len(lines) == len(results) + 2 and lines[-1].startswith("kill rate: ")


def test_the_suite_is_large_and_covers_both_stacks_and_every_new_rule_family():
    assert len(MUTANTS) >= 40 and {m.stack for m in MUTANTS} == {"dev", "prod"}
    assert len({m.name for m in [*MUTANTS, *SURVIVORS]}) == len(MUTANTS) + len(SURVIVORS)
    killed_by = {m.policy for m in MUTANTS}
    assert {"security-group-ingress-restricted", "security-group-egress-restricted", "subnet-no-public-ip",
            "vpc-flow-logs", "vpc-default-security-group-closed", "resource-policy-no-public-principal",
            "resource-policy-service-source", "iam-no-privilege-escalation", "alarms-notify",
            "aurora-iam-authentication", "aurora-auto-minor-version-upgrade", "lambda-runtime-supported",
            "lambda-database-reserved-concurrency"} <= killed_by


def test_violations_are_one_line_naming_the_resource_and_the_fix(results):
    for result in (r for r in results if r.verdict == mutants.KILLED):
        for violation in result.violations:
            message = violation.message
            assert "\n" not in message and message.endswith("."), message
            assert violation.resource and violation.resource in message, (violation.resource, message)
            assert ": " in message, message  # what is wrong: how to fix it
        assert len(result.violations) <= 2, result.violations  # one change, one line (two instances at most)


def test_every_accepted_survivor_is_listed_in_the_pack_readme():
    text = README.read_text(encoding="utf-8")
    for survivor in SURVIVORS:
        assert f"`{survivor.name}`" in text, survivor.name
