"""The example GitHub Actions workflow calls the driver with arguments the driver accepts."""

import shlex
from pathlib import Path

import yaml

from pipelines.__main__ import build_parser

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"


def load():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as the boolean true.
    return workflow, workflow.get("on", workflow.get(True))


def commands(job):
    """Every command line of a job's run steps, split into words, in order (without a leading `exec`)."""
    lines = [shlex.split(line) for step in job["steps"] for line in step.get("run", "").splitlines() if line.strip()]
    return [words[1:] if words[:1] == ["exec"] else words for words in lines]


def test_the_driver_is_the_steps_process_so_a_cancelled_run_interrupts_it():
    workflow, _ = load()
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "python -m pipelines" in step.get("run", ""):
                assert step["run"].startswith("exec python -m pipelines "), step["name"]


def driver_calls(job):
    """The driver invocations of a job, parsed by the driver's own argument parser."""
    driver = ["python", "-m", "pipelines"]
    return [build_parser().parse_args(words[3:]) for words in commands(job) if words[:3] == driver]


def test_previews_run_on_pull_requests_and_deployments_on_main():
    workflow, triggers = load()
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["jobs"]["preview"]["if"] == "github.event_name == 'pull_request'"
    assert workflow["jobs"]["deploy"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def test_pull_requests_preview_dev_and_prod_with_their_policy_config():
    workflow, _ = load()
    calls = driver_calls(workflow["jobs"]["preview"])
    assert [(c.command, c.stack) for c in calls] == [("preview", "dev"), ("preview", "prod")]
    for call in calls:
        assert call.policy_pack == Path("policy")
        assert call.policy_config == Path(f"policy/config.{call.stack}.json")


def test_main_deploys_dev_then_promotes():
    workflow, _ = load()
    up_dev, promote = driver_calls(workflow["jobs"]["deploy"])
    assert (up_dev.command, up_dev.stack, up_dev.policy_pack) == ("up", "dev", Path("policy"))
    assert (promote.command, promote.yes) == ("promote", True)


def test_every_job_installs_the_cli_before_calling_the_driver_and_keeps_secrets_off_command_lines():
    workflow, _ = load()
    assert set(workflow["env"]) == {"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"}
    for job in workflow["jobs"].values():
        steps = job["steps"]
        install = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("pulumi/actions@"))
        first_call = next(i for i, s in enumerate(steps) if "-m pipelines" in s.get("run", ""))
        assert install < first_call
        assert all("secrets." not in step.get("run", "") for step in steps)


def test_every_job_creates_the_policy_packs_virtualenv_before_the_driver_runs_the_pack():
    """The CLI runs the pack with the virtualenv PulumiPolicy.yaml names; it is git-ignored, so CI must create it."""
    manifest = yaml.safe_load((REPO / "policy" / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    venv = f"policy/{manifest['runtime']['options']['virtualenv']}"
    workflow, _ = load()
    for name, job in workflow["jobs"].items():
        lines = commands(job)
        runs_pack = [
            i
            for i, words in enumerate(lines)
            if words[:3] == ["python", "-m", "pipelines"]
            and (words[3] == "promote" or build_parser().parse_args(words[3:]).policy_pack is not None)
        ]
        create = lines.index(["python", "-m", "venv", venv])
        install = lines.index([f"{venv}/bin/python", "-m", "pip", "install", "-r", "policy/requirements.txt"])
        assert runs_pack and create < install < runs_pack[0], name


def test_pull_request_previews_write_a_summary_shown_on_the_run_and_the_pull_request():
    workflow, _ = load()
    job = workflow["jobs"]["preview"]
    assert {c.summary_file for c in driver_calls(job)} == {Path("preview-summary.md")}
    assert job["permissions"]["pull-requests"] == "write"
    comment = next(s for s in job["steps"] if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment@"))
    assert comment["with"]["path"] == "preview-summary.md" and comment["if"] == "${{ !cancelled() }}"


DRIFT = REPO / ".github" / "workflows" / "drift.yml"


def test_drift_runs_on_a_schedule_for_every_stack_and_fails_the_run_on_drift_or_error():
    workflow = yaml.safe_load(DRIFT.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers) == {"schedule", "workflow_dispatch"} and triggers["schedule"][0]["cron"]
    job = workflow["jobs"]["drift"]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    [call] = driver_calls(job)
    assert (call.command, call.stack, call.summary_file) == ("drift", "$STACK", Path("drift.md"))
    steps = {step.get("name"): step for step in job["steps"]}
    detect = steps["Detect drift (exit 0 in step, 1 on drift, 2 on error)"]
    assert detect["continue-on-error"] is True and detect["run"].startswith("exec python -m pipelines ")
    issue = steps["Open or update the drift issue"]
    # An issue only for drift (the summary's status line), not for an error; then the run fails either way.
    assert issue["if"] == "steps.drift.outcome == 'failure'" and "grep -q ': drifted$' drift.md" in issue["run"]
    assert "gh issue create" in issue["run"] and "gh issue comment" in issue["run"]
    assert steps["Fail the run on drift or error"] == {
        "name": "Fail the run on drift or error", "if": "steps.drift.outcome == 'failure'", "run": "exit 1"}
    assert workflow["permissions"]["issues"] == "write"
    assert set(workflow["env"]) == {"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"}
    assert all("secrets." not in step.get("run", "") for step in job["steps"])


def test_the_drift_issue_is_opened_from_the_markdown_the_driver_writes():
    """The workflow's grep matches the status line of a drifted summary, and only that one."""
    import re

    from pipelines.markdown import render_markdown
    from pipelines.summary import Report

    drifted = render_markdown(Report("drift", "prod", status="drifted", changes={"update": 1}, drift=[]))
    failed = render_markdown(Report("drift", "prod", status="error", message="`pulumi refresh` failed"))
    assert re.search(r": drifted$", drifted, re.MULTILINE) and not re.search(r": drifted$", failed, re.MULTILINE)
