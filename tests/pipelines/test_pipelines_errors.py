"""Finding the CLI, failed commands, interrupted runs."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pulumi_argv import VERSION, engine, select

from pipelines.errors import Interrupted
from pipelines.pipeline import INSTALL_HINT, Console, Pipeline

REPO = Path(__file__).resolve().parents[2]


def test_no_cli_on_path_says_how_to_install_it(fake, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    run = fake.run("preview", "--stack", "dev")

    assert run.code == 2
    assert run.err == f"error: preview (stack dev): {INSTALL_HINT}\n"
    assert "curl -fsSL https://get.pulumi.com | sh" in INSTALL_HINT
    assert fake.calls() == []


def test_the_cli_can_come_from_pulumi_cli_root(fake, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PULUMI_CLI_ROOT", str(fake.root))
    fake.seed("dev")

    run = fake.run("preview", "--stack", "dev")

    assert run.code == 0, run.err
    assert fake.calls() == [VERSION, select("dev"), engine("preview", "dev")]


def test_a_pulumi_cli_root_without_the_cli(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_CLI_ROOT", str(tmp_path / "nowhere"))

    run = fake.run("preview", "--stack", "dev")

    assert run.code == 2
    assert INSTALL_HINT in run.err
    assert f"(PULUMI_CLI_ROOT={tmp_path / 'nowhere'} has no executable bin/pulumi)" in run.err


def test_an_incompatible_cli_version_is_an_environment_error(fake):
    fake.knob("VERSION", "2.25.0")

    run = fake.run("preview", "--stack", "dev")

    assert run.code == 2
    assert "unsupported Pulumi CLI at" in run.err
    assert "Minimum version requirement failed" in run.err
    assert fake.calls() == [VERSION]


def test_a_cli_that_cannot_report_its_version(fake):
    fake.knob("FAIL", {"command": "version", "code": 3, "stderr": "error: corrupt installation"})

    run = fake.run("preview", "--stack", "dev")

    assert run.code == 2
    assert f"`{fake.root / 'bin' / 'pulumi'} version` failed" in run.err


def test_a_failed_command_reports_the_cli_error_text_and_exit_code(fake):
    fake.seed("dev")
    stderr = "error: update failed\n  aws:dynamodb:Table (orders): AccessDeniedException"
    fake.knob("FAIL", {"command": "up", "code": 42, "stderr": stderr})

    run = fake.run("up", "--stack", "dev")

    assert run.code == 1
    assert run.err == f"error: up (stack dev): `pulumi up` failed with exit code 42\n{stderr}\n"
    assert "up (stack dev): succeeded" not in run.out


def test_a_failed_command_in_json(fake):
    fake.knob("FAIL", {"command": "stack select", "code": 255, "stderr": "error: failed to load checkpoint: denied"})

    run = fake.run("refresh", "--stack", "dev", "--json")

    assert run.code == 1
    assert run.json()["error"] == {
        "message": "`pulumi stack select` failed with exit code 255",
        "cliExitCode": 255,
        "cliStderr": "error: failed to load checkpoint: denied",
    }


def test_usage_errors_are_a_json_document_too(fake):
    run = fake.run("up", "--stack", "prod", "--json")

    assert run.code == 2
    assert run.json() == {
        "command": "up",
        "stack": "prod",
        "status": "error",
        "changes": None,
        "diff": [],
        "drift": None,
        "outputs": None,
        "policyViolations": [],
        "error": {"message": "stack prod is protected: `up` needs --yes", "cliExitCode": None, "cliStderr": None},
    }


@pytest.mark.parametrize(
    "args, command, message",
    [
        (["refresh", "--json"], "refresh",
         "python -m pipelines refresh: the following arguments are required: --stack"),
        (["up", "--stack", "dev", "--force", "--json"], "up", "python -m pipelines: unrecognized arguments: --force"),
        (["review", "destroy", "--name", "x", "--policy-pack", "policy", "--json"], "review destroy",
         "python -m pipelines: unrecognized arguments: --policy-pack policy"),
        (["--json", "deploy"], None, "python -m pipelines: argument command: invalid choice: 'deploy' "
         "(choose from 'preview', 'up', 'refresh', 'destroy', 'review', 'promote', 'drift')"),
    ],
)
def test_argument_errors_with_json_are_one_json_document(fake, args, command, message):
    run = fake.run(*args)

    assert run.code == 2
    assert run.json() == {
        "command": command,
        "stack": None,
        "status": "error",
        "changes": None,
        "diff": [],
        "drift": None,
        "outputs": None,
        "policyViolations": [],
        "error": {"message": message, "cliExitCode": None, "cliStderr": None},
    }
    assert run.err == ""
    assert fake.calls() == []


def test_argument_errors_without_json_print_the_usage(fake):
    run = fake.run("refresh", "--stack", "dev", "--force")

    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith("usage: python -m pipelines")
    assert run.err.endswith("\npython -m pipelines: error: unrecognized arguments: --force\n")


def start_up(fake, **popen):
    """`python -m pipelines up --stack dev` in a process of its own, once the fake CLI is inside the update."""
    fake.seed("dev")
    fake.knob("HANG", "up")
    driver = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "up", "--stack", "dev", "--work-dir", str(fake.work_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    wait_for(lambda: (fake.home / "started").exists(), driver, "the fake CLI never started the update")
    return driver


def wait_for(condition, driver, failure):
    deadline = time.monotonic() + 30
    while not condition():
        assert driver.poll() is None or condition(), driver.communicate()
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def finish(driver):
    try:
        return driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()


def sigints(fake):
    path = fake.home / "signals"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


CANCEL = ["--non-interactive", "cancel", "--yes", "--stack", "dev"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_of_the_driver_alone_is_forwarded_to_the_cli(fake, signum):
    """The signal reaches only the driver (as from a CI runner or `kill`): the CLI stops because the driver forwards
    SIGINT, and finishes on its own, so no `pulumi cancel` is needed."""
    driver = start_up(fake)

    driver.send_signal(signum)
    out, err = finish(driver)

    assert driver.returncode == 130, err
    assert sigints(fake) == ["SIGINT"]
    assert CANCEL not in fake.calls()
    assert "^C received; cancelling." in out  # the CLI's own output is still streamed
    assert "interrupted: stopping the up of stack dev once the operations in flight finish" in err
    assert "interrupted: up (stack dev): stopped after an interrupt: the Pulumi CLI got SIGINT and exited" in err
    assert "up (stack dev): succeeded" not in out


def test_a_terminal_ctrl_c_reaches_the_cli_exactly_once(fake):
    """A terminal sends Ctrl-C to its whole foreground process group. The CLI runs in a session of its own, so it
    gets only the forwarded SIGINT: a second one would make it terminate without finishing its operations."""
    driver = start_up(fake, start_new_session=True)

    os.killpg(driver.pid, signal.SIGINT)
    _, err = finish(driver)

    assert driver.returncode == 130, err
    assert sigints(fake) == ["SIGINT"]
    assert CANCEL not in fake.calls()


def test_a_cli_still_running_after_the_grace_period_is_cancelled(fake, monkeypatch):
    monkeypatch.setenv("PIPELINES_INTERRUPT_GRACE", "0.5")
    fake.knob("SLOW_STOP", "1")
    driver = start_up(fake)

    driver.send_signal(signal.SIGINT)
    _, err = finish(driver)

    assert driver.returncode == 130, err
    assert sigints(fake) == ["SIGINT"]
    assert fake.calls()[-1] == CANCEL
    assert "the Pulumi CLI is still running 0.5 s after SIGINT: sending `pulumi cancel`" in err
    assert "interrupted: up (stack dev): stopped after an interrupt; `pulumi cancel` was sent" in err


def test_a_second_interrupt_makes_the_cli_terminate_at_once(fake):
    fake.knob("SLOW_STOP", "1")
    driver = start_up(fake)

    driver.send_signal(signal.SIGINT)
    wait_for(lambda: sigints(fake) == ["SIGINT"], driver, "the CLI never got the first SIGINT")
    driver.send_signal(signal.SIGINT)
    _, err = finish(driver)

    assert driver.returncode == 130, err
    wait_for(lambda: len(sigints(fake)) == 2, driver, "the CLI never got the second SIGINT")
    assert CANCEL not in fake.calls()
    assert "interrupted again: the Pulumi CLI terminates at once" in err
    assert "interrupted: up (stack dev): terminated after a second interrupt" in err


def test_after_an_interrupt_no_other_pulumi_command_starts(fake):
    """An interrupt between two commands of an operation (`up`, then `stack output`) stops the next one."""
    pipeline = Pipeline(fake.work_dir, Console(io.StringIO(), io.StringIO()))
    cli = pipeline.cli()
    cli.interrupt()

    with pytest.raises(Interrupted, match="interrupted before the next Pulumi command started"):
        cli.run(["stack", "output", "--json"], str(fake.work_dir), {})
    assert fake.calls() == [VERSION]


def test_an_invalid_interrupt_grace_is_an_environment_error(fake, monkeypatch):
    monkeypatch.setenv("PIPELINES_INTERRUPT_GRACE", "soon")

    run = fake.run("preview", "--stack", "dev")

    assert run.code == 2
    assert "PIPELINES_INTERRUPT_GRACE=soon is not a number of seconds" in run.err
    assert fake.calls() == []


def test_the_interruptible_runner_copies_the_pinned_sdks_command_runner():
    """InterruptibleCommand.run repeats PulumiCommand.run of pulumi 3.272: an SDK upgrade must re-check it."""
    import importlib.metadata
    import inspect

    from pulumi import automation as auto

    from pipelines.cli import InterruptibleCommand

    assert importlib.metadata.version("pulumi") == "3.272.0", "compare InterruptibleCommand.run with PulumiCommand.run"
    assert "3.272" in inspect.getdoc(InterruptibleCommand)
    assert set(inspect.signature(auto.PulumiCommand.run).parameters) == set(
        inspect.signature(InterruptibleCommand.run).parameters)
