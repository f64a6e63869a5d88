"""`python -m localcloud run`: the contract's worked example, and one clear line for each bad invocation."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.program import ROOT
from localcloud.__main__ import main

DEMO = ROOT / "localcloud" / "scenarios" / "demo"


def localcloud(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localcloud", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.xdist_group("localcloud")
def test_the_worked_example_gives_exactly_the_contracts_responses(tmp_path: Path):
    first, second = json.loads((DEMO / "1-create-orders.json").read_text())
    (tmp_path / "6101.json").write_text(json.dumps([first]))
    (tmp_path / "6102.json").write_text(json.dumps([second]))
    result = localcloud("run", "--stack", "dev", "--events", str(tmp_path / "6101.json"),
                        str(tmp_path / "6102.json"), str(DEMO / "2-sample-queries.json"))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["detail-type"] for e in events] == ["orderCommandResponse"] * 2 + ["orderQueryResponse"] * 2
    assert all({"id", "time", "source", "detail-type", "detail"} <= set(e) for e in events)
    assert [e["detail"]["commandStatus"] for e in events[:2]] == ["orderCreated", "orderCreated"]
    assert [e["detail"]["orderid"] for e in events[:2]] == ["6101", "6102"]
    # The two queries of the last file run concurrently: their responses may come in either order.
    report, monthly = sorted((e["detail"] for e in events[2:]), key=lambda detail: detail["query"])
    assert report["query"] == "itemsSalesReport" and report["queryResult"] == [
        {"itemid": "z3333", "totalordered": 12, "lastorderdate": "2022-10-13"},
        {"itemid": "z4444", "totalordered": 6, "lastorderdate": "2022-10-13"}]
    assert monthly["queryResult"] == [{"monthyear": "October 2022", "monthlyordered": 6}]
    assert monthly["queryItemId"] == "z4444"
    assert "summary: 4 events sent, 4 published" in result.stderr


def test_a_missing_events_file_is_one_clear_line():
    result = localcloud("run", "--events", "no-such-file.json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "error: events file no-such-file.json does not exist"


@pytest.mark.xdist_group("localcloud")
def test_run_answers_lone_surrogates_without_echoing_them(tmp_path: Path):
    # The workflow echoes no unvalidated value (issue 15): an unsupported query and an invalid orderId, here with a
    # lone surrogate (no valid UTF-8 exists), are answered with nulls. (The fallback that prints what stdout cannot
    # encode \u-escaped is tested below.)
    entries = [{"DetailType": "orderQuery", "Source": "orderPipeline", "Detail": json.dumps({"query": "top\ud800"})},
               {"DetailType": "orderCommand", "Source": "orderPipeline",
                "Detail": json.dumps({"command": "createOrder", "orderId": "bad\ud800id",
                                      "items": [{"itemid": "a", "quantity": 1}]})}]
    (tmp_path / "surrogates.json").write_text(json.dumps(entries))
    result = localcloud("run", "--events", str(tmp_path / "surrogates.json"))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    query_response = next(e["detail"] for e in events if e["detail-type"] == "orderQueryResponse")
    assert (query_response["query"], query_response["queryStatus"]) == (None, 400)
    [command_response] = [e["detail"] for e in events if e["detail-type"] == "orderCommandResponse"]
    assert (command_response["orderid"], command_response["reason"]) == (None, "invalidCommand")
    assert "ud800" not in result.stdout and "summary: 2 events sent, 2 published" in result.stderr


def test_each_event_line_falls_back_to_ascii_escapes_only_when_it_must(monkeypatch):
    from localcloud.__main__ import _print_event
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    _print_event({"orderid": "bad\ud800id"})
    _print_event({"orderid": "ünïcode 🙂"})
    assert out.buffer.getvalue().decode().splitlines() == ['{"orderid": "bad\\ud800id"}', '{"orderid": "ünïcode 🙂"}']


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ("{}", "must hold a non-empty JSON array of PutEvents entries"),
    ('[{"Detail": "{}", "Colour": "red"}]', "entry 0 has unknown fields ['Colour']"),
    ('[{"Time": "yesterday"}]', "entry 0 has an invalid Time 'yesterday'"),
    ('[{"Source": "s", "Detail": "{}"}, {"Detail": {"command": "createOrder"}}]',
     'entry 1 has a non-string Detail (encode the JSON object as a string): {"command": "createOrder"}'),
    ('[{"DetailType": 7, "Detail": "{}"}]', "entry 0 has a non-string DetailType: 7"),
    ('[{"Source": null, "Detail": "{}"}]', "entry 0 has a non-string Source: null"),
    ('[{"EventBusName": ["bus"], "Detail": "{}"}]', 'entry 0 has a non-string EventBusName: ["bus"]'),
    ('[{"Resources": "arn:aws:s3:::bucket", "Detail": "{}"}]', "entry 0 has Resources that are not a list of strings"),
    ('[{"Resources": [1], "Detail": "{}"}]', "entry 0 has Resources that are not a list of strings"),
])
def test_an_invalid_events_file_is_one_clear_line(tmp_path: Path, capsys, content, message):
    path = tmp_path / "events.json"
    path.write_text(content)
    assert main(["run", "--events", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: events file {path}") and message in error and error.count("\n") == 1


class DeployedCloud:
    """Stands in for LocalCloud once deployed: what `run` does after the deploy, without deploying."""
    outputs = {"EventBridgeARN": "arn:aws:events:us-east-1:123456789012:event-bus/routing-bus-0c75f8e"}
    sent: list = []

    def __init__(self, stack: str):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def deploy(self):
        pass

    def put_events(self, entries: list[dict]) -> list[dict]:
        self.sent.append(entries)
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "Detail is too deep\nsee docs"}},
                          "PutEvents")


def test_an_entry_for_another_bus_is_one_clear_line_and_nothing_is_sent(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr("localcloud.__main__.LocalCloud", DeployedCloud)
    DeployedCloud.sent = []
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    first.write_text('[{"Source": "orderPipeline", "DetailType": "orderQuery", "Detail": "{}"}]')
    second.write_text('[{"EventBusName": "routing-bus-0c75f8e", "Source": "s", "DetailType": "d", "Detail": "{}"}, '
                      '{"EventBusName": "default", "Source": "s", "DetailType": "d", "Detail": "{}"}]')
    assert main(["run", "--events", str(first), str(second)]) == 2
    assert capsys.readouterr().err == (f"error: events file {second}: entry 1 has EventBusName 'default', which is "
                                       f"not this stack's bus ({DeployedCloud.outputs['EventBridgeARN']}); use "
                                       "'<EventBridge Event Bus ARN>'\n")
    assert DeployedCloud.sent == []


def test_an_error_answer_to_put_events_is_one_clear_line(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr("localcloud.__main__.LocalCloud", DeployedCloud)
    path = tmp_path / "events.json"
    path.write_text('[{"EventBusName": "routing-bus-0c75f8e", "Source": "s", "DetailType": "d", "Detail": "{}"}]')
    assert main(["run", "--events", str(path)]) == 2
    assert capsys.readouterr().err == ("error: sending the events failed: An error occurred (ValidationException) "
                                       "when calling the PutEvents operation: Detail is too deep see docs\n")


def test_invalid_events_file_message(tmp_path: Path, capsys):
    path = tmp_path / "events.json"
    path.write_text("[]")
    assert main(["run", "--events", str(path)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"error: events file {path} must hold a non-empty JSON array of PutEvents entries"


def test_an_unknown_stack_is_one_clear_line():
    result = localcloud("run", "--stack", "qa", "--events", str(DEMO / "1-create-orders.json"))
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown stack 'qa': expected one of dev, prod (no Pulumi.qa.yaml)"


def test_a_missing_database_binary_says_how_to_install_it(monkeypatch, capsys):
    import localcloud.mariadb as mariadb
    monkeypatch.setattr(mariadb, "_SEARCH_DIRS", ())
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["run", "--events", str(DEMO / "1-create-orders.json")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: MariaDB server not found: install it with `sudo apt-get install mariadb-server`")
    assert len(error.splitlines()) == 1


@pytest.mark.xdist_group("localcloud")
def test_serve_answers_aws_clients_until_ctrl_c_and_cleans_up(tmp_path: Path):
    import signal
    import time

    import boto3

    from localcloud.mariadb import free_port

    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "localcloud", "serve", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 180
        while not any(line.startswith("ready on") for line in lines) and time.monotonic() < deadline:
            lines.append(process.stdout.readline().strip())
        outputs = json.loads("\n".join(lines[:lines.index("}") + 1]))
        events = boto3.client("events", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                              aws_access_key_id="any", aws_secret_access_key="any")
        detail = {"command": "createOrder", "orderId": "served", "items": [{"itemid": "a", "quantity": 1}]}
        events.put_events(Entries=[{"EventBusName": outputs["EventBusName"], "Source": "orderPipeline",
                                    "DetailType": "orderCommand", "Detail": json.dumps(detail)}])
        published = []
        while not any(e["detail-type"] == "orderCommandResponse" for e in published) and time.monotonic() < deadline:
            line = process.stdout.readline().strip()
            if line.startswith("{") and line.endswith("}"):
                published.append(json.loads(line))
        response = next(e for e in published if e["detail-type"] == "orderCommandResponse")
        assert response["detail"]["commandStatus"] == "orderCreated"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert process.returncode == 0
    assert not any(p.name.startswith(("localcloud-", "mariadb-")) for p in tmp_path.iterdir())
