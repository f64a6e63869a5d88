"""The README's flow, as a new user runs it: `python -m localcloud serve` in one terminal (it writes the stack's
outputs to a file), then `python -m ops ...` with --endpoint-url in another; and how the command finds a stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from localcloud.mariadb import free_port
from ops import stack as stack_module
from ops.stack import StackError, resolve

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("localcloud")


def _wait_for(path: Path, server: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert server.poll() is None, server.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "serve did not write its outputs"
        time.sleep(0.2)


def test_serve_writes_its_outputs_and_the_three_commands_run_against_it(tmp_path):
    outputs, port = tmp_path / "dev-outputs.json", free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, "-m", "localcloud", "serve", "--stack", "dev", "--port", str(port),
                               "--outputs-file", str(outputs)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(outputs, server, 120)
        written = json.loads(outputs.read_text())
        endpoint = f"http://127.0.0.1:{port}"
        assert written["endpoint"] == endpoint and written["outputs"]["OpsStateMachineArn"]
        events = boto3.client("events", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        detail = {"command": "createOrder", "orderId": "7001", "items": [{"itemid": "z3333", "quantity": 2}]}
        events.put_events(Entries=[{"EventBusName": written["outputs"]["EventBusName"], "Source": "orderPipeline",
                                    "DetailType": "orderCommand", "Detail": json.dumps(detail)}])
        bare = {key: value for key, value in env.items() if not key.startswith("AWS_")}  # no credentials needed
        results = {}
        for command in ("reconcile", "rebuild", "redrive"):
            deadline = time.monotonic() + 60
            while True:  # serve delivers the stream in the background: the order reaches the read models soon
                run = subprocess.run([sys.executable, "-m", "ops", command, "--outputs", str(outputs),
                                      "--endpoint-url", endpoint, "--json", *(["--grace", "0"] if command ==
                                                                               "reconcile" else [])],
                                     cwd=ROOT, env=bare, capture_output=True, text=True, timeout=300)
                if run.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(1)
            results[command] = (run.returncode, json.loads(run.stdout), run.stderr)
        assert {command: code for command, (code, _, _) in results.items()} == {
            "reconcile": 0, "rebuild": 0, "redrive": 0}, results
        assert results["rebuild"][1]["readModelOrders"] == 1 and results["redrive"][1]["messages"] == 0
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    assert not outputs.exists()  # removed when serving stops


def test_with_an_endpoint_the_command_reads_the_file_serve_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_module, "localcloud_outputs_path", lambda stack: tmp_path / f"{stack}.json")
    with pytest.raises(StackError, match="localcloud serve --stack dev"):
        resolve("dev", None, "http://127.0.0.1:4566", None)
    outputs = {name: f"{name}-value" for name in stack_module.REQUIRED_OUTPUTS}
    stack_module.write_outputs_file(tmp_path / "dev.json", "dev", "http://127.0.0.1:4566", "us-east-1", outputs)
    target = resolve("dev", None, "http://127.0.0.1:4566", None)
    assert (target.outputs, target.region, target.endpoint_url) == (outputs, "us-east-1", "http://127.0.0.1:4566")


def test_a_file_of_pulumi_stack_output_json_works_too_and_missing_outputs_are_named(tmp_path):
    flat = tmp_path / "outputs.json"
    flat.write_text(json.dumps({"OrdersTableName": "t", "ProjectorDlqUrl": "u"}))
    with pytest.raises(StackError, match="OpsStateMachineArn"):
        resolve("prod", flat, None, "eu-west-1")


def test_without_an_outputs_file_the_pulumi_cli_is_asked_and_its_absence_explained(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StackError, match="--outputs FILE"):
        resolve("prod", None, None, None)
