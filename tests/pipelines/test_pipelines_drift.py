"""`drift`: a refresh in preview mode, exit 0 in step, 1 on drift, 2 on error, against the fake CLI replaying the
engine events of a refresh preview that finds a property changed outside Pulumi and a deleted resource."""

from pathlib import Path

from pulumi_argv import VERSION, engine, select

RECORDED = Path(__file__).with_name("data") / "refresh-preview-drift.jsonl"
RULE = "urn:pulumi:prod::cqrs-orders::cqrs:index:QuerySide$cqrs:index:PrivateNetwork$" \
       "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::query-network-database-from-functions"


def test_no_drift_is_exit_0_and_changes_nothing(fake):
    fake.seed("prod", results=("succeeded",))

    run = fake.run("drift", "--stack", "prod")

    assert run.code == 0, run.err
    assert run.out.splitlines()[-2:] == ["drift (stack prod): succeeded", "  changes: same 3"]
    # A preview: no --yes, no history entry, and a protected stack needs no confirmation.
    assert fake.calls() == [VERSION, select("prod"), engine("drift", "prod")]
    assert len(fake.state()["stacks"]["prod"]["history"]) == 1


def test_drift_is_exit_1_with_each_drifted_resource_and_property(fake):
    fake.seed("prod", results=("succeeded",))
    fake.knob("EVENTS", str(RECORDED))

    run = fake.run("drift", "--stack", "prod", "--json")

    assert run.code == 1, run.err
    document = run.json()
    assert (document["status"], document["error"]) == ("drifted", None)
    assert document["changes"] == {"same": 2, "update": 2, "delete": 1}
    assert [(d["change"], d["name"], d["properties"]) for d in document["drift"]] == [
        ("changed", "query-projector-logs", ["retentionInDays"]),
        ("changed", "query-network-database-from-functions", ["fromPort", "ipProtocol", "toPort"]),
        ("deleted", "alarms-projector-dlq-messages", []),
    ]
    assert document["drift"][1]["urn"] == RULE
    assert document["drift"][1]["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def test_drift_in_text(fake):
    fake.seed("prod", results=("succeeded",))
    fake.knob("EVENTS", str(RECORDED))

    run = fake.run("drift", "--stack", "prod")

    assert run.code == 1
    lines = run.out.splitlines()
    summary = lines.index("drift (stack prod): drifted: 3 resource(s) drifted")
    assert lines[summary + 1:] == [
        "  changes: update 2, delete 1, same 2",
        "    changed aws:cloudwatch/logGroup:LogGroup query-projector-logs: retentionInDays",
        "    changed aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule query-network-database-from-functions: "
        "fromPort, ipProtocol, toPort",
        "    deleted aws:cloudwatch/metricAlarm:MetricAlarm alarms-projector-dlq-messages",
    ]


def test_a_failing_cli_is_exit_2_not_drift(fake):
    fake.seed("prod", results=("succeeded",))
    fake.knob("FAIL", {"command": "refresh", "code": 255, "stderr": "error: could not read credentials"})

    run = fake.run("drift", "--stack", "prod", "--json")

    assert run.code == 2
    document = run.json()
    assert document["status"] == "error" and document["drift"] is None
    assert document["error"]["cliExitCode"] == 255 and "could not read credentials" in document["error"]["cliStderr"]


def test_an_unknown_stack_is_exit_2_before_any_refresh(fake):
    run = fake.run("drift", "--stack", "prod")  # prod has settings but is not in the backend

    assert run.code == 2 and "does not exist in the configured backend" in run.err
    assert fake.calls() == [VERSION, select("prod")]
    assert fake.run("drift", "--stack", "qa").code == 2


def test_drift_takes_no_policy_pack_and_no_yes(fake):
    for extra in (["--policy-pack", "policy"], ["--yes"]):
        run = fake.run("drift", "--stack", "prod", *extra)
        assert run.code == 2 and "unrecognized arguments" in run.err


def test_the_summary_file_lists_the_drift_in_markdown(fake, tmp_path):
    fake.seed("prod", results=("succeeded",))
    fake.knob("EVENTS", str(RECORDED))
    summary = tmp_path / "summary.md"

    assert fake.run("drift", "--stack", "prod", "--summary-file", str(summary)).code == 1

    text = summary.read_text()
    assert text.startswith("### `drift` of `prod`: drifted\n")
    assert "| `query-projector-logs` | `aws:cloudwatch/logGroup:LogGroup` | changed | `retentionInDays` |" in text
    assert "| `alarms-projector-dlq-messages` | `aws:cloudwatch/metricAlarm:MetricAlarm` | deleted | - |" in text
    assert "**Policy:**" not in text  # a refresh runs no policy pack


def test_a_drifted_resource_without_a_diff_is_described_by_the_outputs_that_differ():
    from pulumi import automation as auto

    from pipelines.events import EngineEvents

    urn = "urn:pulumi:prod::cqrs-orders::aws:sqs/queue:Queue::dlq"
    metadata = {"op": "update", "urn": urn, "type": "aws:sqs/queue:Queue",
                "old": {"outputs": {"messageRetentionSeconds": 1209600, "arn": "arn:q"}},
                "new": {"outputs": {"messageRetentionSeconds": 60, "arn": "arn:q"}}}
    events = EngineEvents(refresh_preview=True)
    events(auto.EngineEvent.from_json({"sequence": 1, "timestamp": 1, "resOutputsEvent": {"metadata": metadata}}))
    assert events.drift == [{"urn": urn, "type": "aws:sqs/queue:Queue", "name": "dlq", "change": "changed",
                             "properties": ["messageRetentionSeconds"]}]
    # The same outcome during an update is not drift.
    updating = EngineEvents()
    updating(auto.EngineEvent.from_json({"sequence": 1, "timestamp": 1, "resOutputsEvent": {"metadata": metadata}}))
    assert updating.drift == []
