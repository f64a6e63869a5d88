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
    keys = {f"{approach}_{figure}" for approach in ("ours", "sample", "floor")
            for figure in ("orders_per_s", "client_cpu_ms_per_order", "server_cpu_ms_per_order")}
    check(figures, returned, "projector_throughput", keys | {"orders", "lines", "ours_vs_floor", "ours_vs_sample"})
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
    check(figures, returned, "cold_start", {"handlers", "layer_bytes", "max_import_ms", "max_archive_bytes"})
    assert {"projector", "items_sales_report", "monthly_sales_by_item", "get_order"} <= set(figures["handlers"])
    for handler in figures["handlers"].values():
        assert set(handler) == {"import_ms", "import_cpu_ms", "archive_bytes"}


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
