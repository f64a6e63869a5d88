"""Finding the CLI, failed commands, interrupted runs."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pulumi_argv import VERSION, engine, select

from pipelines.driver import INSTALL_HINT

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
        "outputs": None,
        "policyViolations": [],
        "error": {"message": "stack prod is protected: `up` needs --yes", "cliExitCode": None, "cliStderr": None},
    }


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_up_is_cancelled(fake, signum):
    """The signal reaches only the driver (as from a CI runner), so the CLI stops only because of `pulumi cancel`."""
    fake.seed("dev")
    fake.knob("HANG", "up")
    driver = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "up", "--stack", "dev", "--work-dir", str(fake.work_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (fake.home / "started").exists():
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the fake CLI never started the update"
            time.sleep(0.05)
        driver.send_signal(signum)
        out, err = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()

    assert driver.returncode == 130, err
    assert ["--non-interactive", "cancel", "--yes", "--stack", "dev"] in fake.calls()
    assert "interrupted: cancelling the up of stack dev" in err
    assert "interrupted: up (stack dev): stopped after an interrupt; `pulumi cancel` was sent" in err
    assert "up (stack dev): succeeded" not in out
