"""Smoke tests of the benchmarks: each runs at tiny sizes and ends with one JSON line holding its figures, every
number positive. No timing is asserted: benchmarks print numbers, they are not timed tests."""

from __future__ import annotations

import json
import sys

import pytest

from bench import cold_start, idle_cost, program_time, projector_throughput, query_latency, report
from bench.database import PROJECTOR, BenchDatabase
from harness.program import RegisteredResource

LATENCY = {"p50_ms", "p95_ms", "p99_ms"}


def last_json_line(capsys) -> dict:
    lines = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert len(lines) > 1, "human-readable lines come before the JSON line"
    return figures


def assert_positive(value, path="figures"):
    """Every number > 0; CPU times may be 0 at tiny sizes (mariadbd's is counted in 10 ms clock ticks)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert_positive(item, f"{path}.{key}")
    elif not isinstance(value, str):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (path, value)
        assert value > 0 or ("cpu" in path and value == 0), (path, value)


def check(figures: dict, returned: dict, name: str, keys: set[str]) -> None:
    assert figures.pop("benchmark") == name
    assert figures == returned
    assert keys <= set(figures), keys - set(figures)
    assert_positive(figures)


def test_projector_throughput(capsys):
    returned = projector_throughput.run(orders=30, batch_size=10)
    figures = last_json_line(capsys)
    keys = {f"{approach}_{figure}" for approach in ("ours", "sample", "same_work_floor", "rows_floor")
            for figure in ("orders_per_s", "client_cpu_ms_per_order", "server_cpu_ms_per_order")}
    check(figures, returned, "projector_throughput",
          keys | {"orders", "lines", "ours_vs_same_work_floor", "ours_vs_rows_floor", "ours_vs_sample"})
    assert figures["orders"] == 30


def test_query_latency(capsys):
    returned = query_latency.run(lines=600, baseline_lines=150, items=20, calls=5, sample_report_calls=2,
                                 sample_monthly_calls=2)
    figures = last_json_line(capsys)
    check(figures, returned, "query_latency", {"lines", "orders", "baseline_lines", "load_s", "ours", "sample",
                                               "speedup_vs_sample"})
    assert set(figures["ours"]) == {"itemsSalesReport", "monthlySalesByItem", "getOrder"}
    for query in figures["ours"].values():
        assert LATENCY | {"baseline_p50_ms", "growth_p50", "growth_p95"} <= set(query)
    assert set(figures["sample"]) == set(figures["speedup_vs_sample"]) == {"itemsSalesReport", "monthlySalesByItem"}
    for query in figures["sample"].values():
        assert LATENCY <= set(query)


def test_query_latency_data_set_is_exactly_sized():
    # Blocks of 15 lines hold orders of 1..5 lines: 16 lines are 5 orders and the first line of a sixth.
    assert [query_latency.orders_for(lines) for lines in (1, 15, 16, 1_000_000)] == [1, 5, 6, 333_334]


def test_cold_start(capsys):
    returned = cold_start.run(repeats=1)
    figures = last_json_line(capsys)
    check(figures, returned, "cold_start", {"handlers", "layer_bytes", "max_import_ms", "max_archive_bytes",
                                             "reference", "driver_floor", "max_vs_reference"})
    assert {"projector", "items_sales_report", "monthly_sales_by_item", "get_order"} <= set(figures["handlers"])
    assert set(figures["driver_floor"]) == {"import_ms", "import_cpu_ms", "vs_reference"}  # no timing judged here
    for handler in figures["handlers"].values():
        assert set(handler) == {"import_ms", "import_cpu_ms", "vs_reference", "cpu_vs_reference", "archive_bytes"}


def test_program_time(capsys):
    returned = program_time.run(repeats=1)
    figures = last_json_line(capsys)
    check(figures, returned, "program_time", {"without_bytecode_s", "dev", "prod"})
    for stack in ("dev", "prod"):
        assert set(figures[stack]) == {"first_run_s", "warm_run_s", "resources"}


def test_idle_cost(capsys):
    returned = idle_cost.run()
    figures = last_json_line(capsys)
    check(figures, returned, "idle_cost", {"dev_usd_per_month", "prod_usd_per_month", "sample_usd_per_month"})


def resource(type_: str, name: str, **inputs) -> RegisteredResource:
    return RegisteredResource(type_, name, urn="", parent="", inputs=inputs, state={}, id=name)


def test_idle_cost_prices_what_is_always_on():
    table = json.loads(idle_cost.PRICE_TABLE.read_text())
    charges = idle_cost.monthly_charges([
        resource("cqrs:index:Anything", "component"),
        resource("aws:ec2/vpcEndpoint:VpcEndpoint", "secrets", vpcEndpointType="Interface", subnetIds=["a", "b"]),
        resource("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", vpcEndpointType="Gateway"),
        resource("aws:kms/key:Key", "key"),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", period=10),
        resource("aws:dynamodb/table:Table", "on-demand", billingMode="PAY_PER_REQUEST"),
        resource("aws:cloudwatch/logGroup:LogGroup", "logs"),
        resource("aws:sqs/queue:Queue", "queue"),
    ], table)
    assert {charge.resource: round(charge.usd_per_month, 2) for charge in charges} == {
        "secrets": 14.6, "key": 1.0, "fast": 0.3}


def test_idle_cost_prices_the_idle_volume_of_exported_logs_and_flow_logs():
    table = json.loads(idle_cost.PRICE_TABLE.read_text())
    prices = table["prices"]

    def cluster(minimum: float) -> RegisteredResource:
        return resource("aws:rds/cluster:Cluster", "db", enabledCloudwatchLogsExports=["audit", "error"],
                        serverlessv2ScalingConfiguration={"minCapacity": minimum})

    audit_group = RegisteredResource("aws:cloudwatch/logGroup:LogGroup", "audit-logs", urn="", parent="",
                                     inputs={"name": "/aws/rds/cluster/db/audit", "retentionInDays": 365},
                                     state={"name": "/aws/rds/cluster/db/audit"}, id="/aws/rds/cluster/db/audit")
    flow_group = RegisteredResource("aws:cloudwatch/logGroup:LogGroup", "flow-logs", urn="", parent="",
                                    inputs={"retentionInDays": 90}, state={"arn": "arn:flow"}, id="flow")
    instance = resource("aws:rds/clusterInstance:ClusterInstance", "writer", instanceClass="db.serverless",
                        clusterIdentifier="db")
    flow_log = resource("aws:ec2/flowLog:FlowLog", "flow-log", logDestination="arn:flow")
    charges = {c.what.split(",")[0]: c.usd_per_month for c in idle_cost.monthly_charges(
        [cluster(0.5), instance, audit_group, flow_group, flow_log,
         resource("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg"),
         resource("aws:rds/parameterGroup:ParameterGroup", "params")], table)}
    audit_gb = prices["aurora_idle_log_gb_month"]["gb"]["audit"]
    storage = prices["cloudwatch_logs_storage_gb_month"]["usd"]
    assert charges["Aurora audit log export"] == pytest.approx(
        audit_gb * prices["cloudwatch_logs_ingestion_gb"]["usd"] + audit_gb * 12 * storage)  # a year kept
    assert charges["Aurora error log export"] > 0  # no group of the stack: a year's storage assumed
    flow_gb = prices["vpc_flow_log_idle_gb_month"]["gb"]
    assert charges["VPC flow log"] == pytest.approx(
        flow_gb * prices["cloudwatch_vended_logs_ingestion_gb"]["usd"] + flow_gb * 90 * 12 / 365 * storage)
    # A paused database writes no log.
    paused = idle_cost.monthly_charges([cluster(0), instance, audit_group], table)
    assert [c.what for c in paused] == ["Aurora storage (1 GB assumed)",
                                        "Aurora Serverless v2 minimum capacity (0 ACU)"]


def test_idle_cost_refuses_what_it_cannot_price():
    table = json.loads(idle_cost.PRICE_TABLE.read_text())
    with pytest.raises(idle_cost.UnpricedResource, match="aws:ec2/instance:Instance"):
        idle_cost.monthly_charges([resource("aws:ec2/instance:Instance", "vm")], table)


def test_a_ratio_is_never_rounded_to_zero():
    assert report.ratio(1273.4, 1, 0) == 1273
    assert report.ratio(0.4, 1, 0) == 0.4  # the sample is faster at tiny sizes: say so, not 0
    assert report.ratio(1, 300) == 0.0033
    assert report.ratio(0, 5) == 0


def test_a_benchmark_container_leaves_the_tests_handler_module_alone():
    import projector.handler

    with BenchDatabase() as db:
        db.create_read_models("bench_isolation")
        handler = db.handler("projector", PROJECTOR, "bench_isolation")
    assert handler is not projector.handler.handler
    assert sys.modules["projector.handler"] is projector.handler


def test_rebuild_rate(capsys):
    from bench import rebuild_rate

    returned = rebuild_rate.run(sizes=(40, 90), segments=3)
    figures = last_json_line(capsys)
    check(figures, returned, "rebuild_rate", {"segments", "page_size", "40", "90", "rate_ratio_largest_vs_smallest"})
    assert set(figures["90"]) == {"empty_s", "empty_orders_per_s", "current_s", "current_orders_per_s"}


# The cost model against prices computed by hand, with a price table of round numbers written here (the real table's
# prices change; the arithmetic must not).
HAND_TABLE = {"prices": {
    "eventbridge_event": {"usd": 0.000001}, "sfn_express_million_requests": {"usd": 1.0},
    "sfn_express_gb_second": {"usd": 0.00001667}, "sfn_express_memory_gb": {"gb": 0.0625},
    "lambda_request": {"usd": 0.0000002}, "lambda_arm_gb_second": {"usd": 0.0000133334},
    "dynamodb_write_request_unit": {"usd": 0.000000625}, "dynamodb_read_request_unit": {"usd": 0.000000125},
    "cloudwatch_logs_ingestion_gb": {"usd": 0.5}, "xray_trace_recorded": {"usd": 0.000005},
    "aurora_serverless_v2_acu_hour": {"usd": 0.12}, "aurora_io_request": {"usd": 0.0000002},
    "aurora_vcpu_per_acu": {"vcpu": 0.25}}}


def test_the_cost_model_prices_a_small_case_as_computed_by_hand():
    from bench import cost_model

    usage = {"events": 2, "executions": 1, "execution_billed_ms": 200, "state_transitions": 9,
             "lambda": {"fn": {"invocations": 1, "billed_ms": 100}}, "write_units": 1, "read_units": 2,
             "stream_reads": 3, "log_bytes": 1024, "traces": 1, "db_cpu_ms": 2.5, "db_redo_bytes": 8192}
    function = resource("aws:lambda/function:Function", "fn", handler="fn.handler.handler", memorySize=1024)
    lines = {line.what: round(line.usd_per_million, 6)
             for line in cost_model.per_million(usage, [function], HAND_TABLE)}
    assert lines == {
        "EventBridge events published": 2.0,  # 2 events x $1 per million
        "Step Functions Express requests": 1.0,
        "Step Functions Express duration": 0.208375,  # 64 MB x 0.2 s x $0.00001667, a million times
        "Lambda requests": 0.2,
        "Lambda duration (arm64)": 1.33334,  # 1 GB x 0.1 s x $0.0000133334, a million times
        "DynamoDB write request units": 0.625,
        "DynamoDB read request units": 0.25,
        "DynamoDB stream reads by Lambda (free)": 0.0,
        "CloudWatch Logs ingestion": 0.476837,  # a million KiB is 0.953674 GiB, at $0.50
        "X-Ray traces recorded": 5.0,
        "Aurora capacity (database CPU as ACU-seconds)": 0.333333,  # 2.5 ms / 0.25 vCPU = 0.01 ACU-s at $0.12/h
        "Aurora write I/O (redo log in 4 KB pages)": 0.4,  # 2 pages x $0.20 per million
    }
    assert cost_model.total(cost_model.per_million(usage, [function], HAND_TABLE)) == pytest.approx(11.826885, abs=1e-5)


def test_dynamodb_item_sizes_follow_the_developer_guide():
    from bench.aws_meter import item_size

    # "orderId" (7) + "o-1" (3); "version" (7) + the number 12 (one byte per two digits, plus one); "items" (5) + a
    # list (3) of one map (3 + "q" (1) + 5 (2) + 1 per element, + 1 per element)
    assert item_size({"orderId": {"S": "o-1"}}) == 10
    assert item_size({"version": {"N": "12"}}) == 9
    assert item_size({"items": {"L": [{"M": {"q": {"N": "5"}}}]}}) == 5 + 3 + (3 + 1 + 2 + 1) + 1


def test_request_cost(capsys):
    from bench import request_cost

    returned = request_cost.run(orders=1, queries=1, stacks=("dev",))
    figures = last_json_line(capsys)
    assert figures.pop("benchmark") == "request_cost" and figures == returned
    assert figures["dev"]["usd_per_million_create_order"] > 0 and figures["dev"]["usd_per_million_queries"] > 0
    create = figures["usage"]["dev"]["createOrder"]
    assert (create["events"], create["executions"], create["write_units"]) == (2, 1, 1)  # request and response
    assert set(create["lambda"]) == {"validate_command", "projector"}
    assert set(figures["usage"]["dev"]["query"]["lambda"]) == {"items_sales_report", "monthly_sales_by_item",
                                                              "get_order"}


def test_hot_items(capsys):
    from bench import hot_items

    returned = hot_items.run(orders=60, batch_size=10, streams=(1, 2))
    figures = last_json_line(capsys)
    assert figures.pop("benchmark") == "hot_items" and figures == returned
    assert figures["orders"] == 60 and 0 < figures["hot_item_share"] < 1
    for streams in ("1", "2"):
        assert figures[streams]["orders_per_s"] > 0 and figures[streams]["batch_p99_ms"] > 0
        assert figures[streams]["deadlocks"] >= 0 and figures[streams]["lock_wait_timeouts"] >= 0  # may be none
    assert figures["2"]["vs_one_stream"] > 0


def test_load(capsys):
    from bench import load

    returned = load.run(orders=60, producers=4, items=10)  # raises unless every check holds (see bench/load.py)
    figures = last_json_line(capsys)
    assert figures.pop("benchmark") == "load" and figures == returned
    assert (figures["orders"], figures["producers"], figures["stream_shards"]) == (60, 4, 2)
    assert figures["queries"] >= 2 * 60 // load.BATCH and figures["items_checked"] <= 10
    assert figures["reconcile"]["drift"] == 0 and figures["reconcile"]["readModelOrders"] == 60
    assert_positive({key: figures[key] for key in ("events_per_s", "commands_per_s", "command_to_response",
                                                   "command_to_visible")})
