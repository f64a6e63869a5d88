"""promote: dev must be healthy and the prod preview must pass the policy pack before prod is deployed."""

import pytest
from pulumi_argv import VERSION, engine, history, policy, select, up_sequence


@pytest.fixture
def promotable(fake):
    fake.seed("dev", results=("failed", "succeeded"))
    fake.seed("prod")
    return fake


def prod_policy(fake):
    return policy(fake.work_dir / "policy", fake.work_dir / "policy" / "config.prod.json")


def dev_checks():
    return [VERSION, select("dev"), history("dev", show_secrets=False)]


def test_promote_checks_dev_previews_prod_with_the_policy_pack_then_deploys(promotable):
    fake = promotable
    fake.knob("OUTPUTS", {"apiUrl": "https://api.example.com"})

    run = fake.run("promote", "--yes")

    assert run.code == 0, run.err
    assert fake.calls() == [
        *dev_checks(),
        select("prod"),
        engine("preview", "prod", *prod_policy(fake)),
        *up_sequence("prod", *prod_policy(fake)),
    ]
    assert "promote: prod preview passed the policy pack (create 2, same 1); deploying" in run.out
    assert "promote (stack prod): succeeded" in run.out
    assert "apiUrl: https://api.example.com" in run.out


def test_promote_needs_the_policy_packs_virtualenv(promotable):
    promotable.pack_python.unlink()

    run = promotable.run("promote", "--yes")

    assert run.code == 2
    assert f"has no virtualenv {promotable.work_dir / 'policy' / 'venv'}: create it with" in run.err
    assert promotable.calls() == []


def test_promote_needs_yes(promotable):
    run = promotable.run("promote")

    assert run.code == 2
    assert "promote deploys the protected stack prod: pass --yes" in run.err
    assert promotable.calls() == []


@pytest.mark.parametrize(
    "results, reason",
    [
        (("succeeded", "failed"), "the last update of dev (#2, update) failed: fix dev first"),
        (("in-progress",), "the last update of dev (#1, update) in-progress: fix dev first"),
        ((), "the dev stack has never been updated: deploy dev first"),
    ],
)
def test_promote_refuses_when_dev_is_not_healthy(fake, results, reason):
    fake.seed("dev", results=results)
    fake.seed("prod")

    run = fake.run("promote", "--yes")

    assert run.code == 3
    assert f"refused: promote (stack prod): {reason}" in run.err
    assert fake.calls() == dev_checks()


def test_promote_refuses_when_dev_does_not_exist(fake):
    fake.seed("prod")

    run = fake.run("promote", "--yes", "--json")

    assert run.code == 3
    assert run.json()["status"] == "refused"
    assert run.json()["error"]["message"] == "the dev stack does not exist in the backend: deploy dev first"
    assert fake.calls() == [VERSION, select("dev")]


def test_promote_refuses_on_a_mandatory_policy_violation(promotable):
    fake = promotable
    violation = {"level": "mandatory", "policy": "deletion-protection", "message": "turn on deletion protection"}
    fake.knob("POLICY", [violation])

    run = fake.run("promote", "--yes", "--json")

    assert run.code == 3
    document = run.json()
    assert document["status"] == "refused"
    assert document["error"]["message"] == "mandatory policy violations in the prod preview"
    assert [v["policy"] for v in document["policyViolations"]] == ["deletion-protection"]
    assert fake.calls() == [*dev_checks(), select("prod"), engine("preview", "prod", *prod_policy(fake))]


def test_promote_text_names_the_blocking_violation(promotable):
    promotable.knob("POLICY", [{"level": "mandatory", "policy": "pitr", "message": "enable PITR"}])

    run = promotable.run("promote", "--yes")

    assert run.code == 3
    assert "refused: promote (stack prod): mandatory policy violations in the prod preview" in run.err
    assert "[mandatory] cqrs-orders-policy/pitr: enable PITR" in run.err


def test_promote_deploys_despite_advisory_violations_and_reports_them(promotable):
    promotable.knob("POLICY", [{"level": "advisory", "policy": "tags", "message": "add tags"}])

    run = promotable.run("promote", "--yes", "--json")

    assert run.code == 0, run.err
    assert run.json()["policyViolations"][0]["level"] == "advisory"
    assert engine("up", "prod", *prod_policy(promotable)) in promotable.calls()


def test_a_preview_failing_for_another_reason_is_a_failure_not_a_refusal(promotable):
    promotable.knob("FAIL", {"command": "preview", "code": 255, "stderr": "error: could not load plugin aws"})

    run = promotable.run("promote", "--yes")

    assert run.code == 1
    assert "error: promote (stack prod): `pulumi preview` failed with exit code 255" in run.err
    assert "error: could not load plugin aws" in run.err
    assert engine("up", "prod", *prod_policy(promotable)) not in promotable.calls()
