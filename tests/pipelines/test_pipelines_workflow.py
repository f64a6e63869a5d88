"""The example GitHub Actions workflow calls the driver with arguments the driver accepts."""

import shlex
from pathlib import Path

import yaml

from pipelines.__main__ import build_parser

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "deploy.yml"


def load():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as the boolean true.
    return workflow, workflow.get("on", workflow.get(True))


def driver_calls(job):
    """The driver invocations of a job, parsed by the driver's own argument parser."""
    calls = []
    for step in job["steps"]:
        for line in step.get("run", "").splitlines():
            words = shlex.split(line)
            if words[:3] == ["python", "-m", "pipelines"]:
                calls.append(build_parser().parse_args(words[3:]))
    return calls


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
