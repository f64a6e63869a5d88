"""review up|destroy: ephemeral stacks built from the dev settings."""

import pytest
from pulumi_argv import VERSION, engine, history, init, policy, select, up_sequence

STACK = "review-pr-42"

# Pulumi.dev.yaml (conftest.py) with the review overrides applied (in place, or appended); scalars become the
# strings the program reads.
SET_ALL = [
    "--non-interactive",
    "config",
    "set-all",
    "--stack",
    STACK,
    "--plaintext",
    "aws:region=eu-west-1",
    "--plaintext",
    "cqrs-orders:auroraMinCapacity=0",
    "--plaintext",
    "cqrs-orders:auroraSecondsUntilAutoPause=300",
    "--plaintext",
    "cqrs-orders:deletionProtection=false",
    "--plaintext",
    "cqrs-orders:skipFinalSnapshot=true",
    "--plaintext",
    "cqrs-orders:dynamoDeletionProtection=false",
]
# The list and the secret are copied by the CLI: typed as a list, and re-encrypted without their plaintext ever
# being on a command line.
COPIES = [
    ["--non-interactive", "config", "copy", "--stack", "dev", "--dest", STACK, "--", key]
    for key in ("cqrs-orders:privateSubnetIds", "cqrs-orders:alarmEmail")
]


@pytest.fixture
def fake(fake):
    fake.seed("dev")  # `config copy` re-encrypts dev's secrets with dev's key, so dev must exist
    return fake


def test_review_up_creates_the_stack_from_the_dev_settings(fake):
    run = fake.run("review", "up", "--name", "pr-42")

    assert run.code == 0, run.err
    assert fake.calls() == [VERSION, select(STACK), init(STACK), SET_ALL, *COPIES, *up_sequence(STACK)]
    assert f"review up (stack {STACK}): succeeded" in run.out
    assert "v1:c2FsdA==" not in " ".join(" ".join(argv) for argv in fake.calls())


def test_review_up_passes_the_policy_pack_to_the_cli(fake, monkeypatch):
    monkeypatch.chdir(fake.work_dir)

    run = fake.run("review", "up", "--name", "pr-42", "--policy-pack", "policy", "--policy-config",
                   "policy/config.dev.json")

    assert run.code == 0, run.err
    pack = policy(fake.work_dir / "policy", fake.work_dir / "policy" / "config.dev.json")
    assert fake.calls() == [VERSION, select(STACK), init(STACK), SET_ALL, *COPIES, *up_sequence(STACK, *pack)]


def test_review_up_checks_the_policy_pack_before_any_cli_call(fake, monkeypatch):
    fake.pack_python.unlink()
    monkeypatch.chdir(fake.work_dir)

    run = fake.run("review", "up", "--name", "pr-42", "--policy-pack", "policy")

    assert run.code == 2
    assert "policy pack policy has no virtualenv policy/venv: create it with `python -m venv policy/venv" in run.err
    assert fake.calls() == []


def test_review_up_again_updates_the_same_stack(fake):
    fake.seed(STACK)

    run = fake.run("review", "up", "--name", "pr-42")

    assert run.code == 0, run.err
    assert fake.calls() == [VERSION, select(STACK), SET_ALL, *COPIES, *up_sequence(STACK)]


def test_review_destroy_destroys_then_removes_the_stack(fake):
    fake.seed(STACK)

    run = fake.run("review", "destroy", "--name", "pr-42")

    assert run.code == 0, run.err
    assert fake.calls() == [
        VERSION,
        select(STACK),
        engine("destroy", STACK),
        history(STACK),
        ["--non-interactive", "stack", "rm", "--yes", STACK],
    ]
    assert STACK not in fake.state()["stacks"]
    assert f"review destroy (stack {STACK}): succeeded" in run.out


def test_a_failed_review_destroy_keeps_the_stack(fake):
    fake.seed(STACK)
    fake.knob("FAIL", {"command": "destroy", "code": 255, "stderr": "error: deleting table: AccessDenied"})

    run = fake.run("review", "destroy", "--name", "pr-42")

    assert run.code == 1
    assert "`pulumi destroy` failed with exit code 255" in run.err
    assert ["--non-interactive", "stack", "rm", "--yes", STACK] not in fake.calls()
    assert STACK in fake.state()["stacks"]


def test_review_destroy_of_an_unknown_review_stack(fake):
    run = fake.run("review", "destroy", "--name", "pr-42")

    assert run.code == 2
    assert f"unknown stack '{STACK}'" in run.err
    assert fake.calls() == [VERSION, select(STACK)]


@pytest.mark.parametrize("name", ["PR-42", "pr_42", "-pr", "pr-", "a" * 41, "pr/42"])
@pytest.mark.parametrize("action", ["up", "destroy"])
def test_review_names_are_validated_before_any_cli_call(fake, action, name):
    run = fake.run("review", action, f"--name={name}")

    assert run.code == 2
    assert f"invalid review name {name!r}: use 1-40 lowercase letters, digits and hyphens" in run.err
    assert fake.calls() == []


def test_a_forty_character_review_name_is_accepted(fake):
    run = fake.run("review", "up", "--name", "a" * 40)

    assert run.code == 0, run.err
    assert select("review-" + "a" * 40) in fake.calls()
