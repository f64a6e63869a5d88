"""Request cost: what one createOrder and one query cost, measured through localcloud and priced with the dated
price table, for each stack, next to the idle cost of each stack and of the sample's topology.

For each stack, the real program is deployed into localcloud and every function warmed up (cold starts are not
counted); then createOrder commands are sent one at a time, each settled before the next (so the projector gets
one record per invocation, as at a million orders a month, 0.4 a second, with its 1 s batching window), then
queries (itemsSalesReport, monthlySalesByItem, getOrder in turns). bench/aws_meter.py counts, per phase, the
requests the system makes of AWS, DynamoDB's capacity units, Lambda invocations and their duration, Step Functions
executions (state transitions and duration), bytes written to CloudWatch Logs, and the database's CPU time and
redo log. X-Ray traces follow from the counts: at such a rate the default sampling rule's reservoir (one a second)
records every execution and every projector invocation. The usage per request is priced by bench/cost_model.py
with each stack's own settings; `--record` (the full run) writes it to request-usage.json, where
`python -m pipelines preview` finds it.

Not counted: cold starts (init duration), data transfer, CloudWatch metrics from logs (EMF metrics are custom
metrics, billed per metric a month, not per request), storage growth (each order adds a few hundred bytes to the
table and the read models), and the database's minimum capacity while in use (dev pauses at 0 ACU, and resumes at
0.5 ACU, $0.06 an hour, for as long as requests arrive within `auroraSecondsUntilAutoPause` of each other)."""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timezone

from bench import cost_model, idle_cost, records
from bench.aws_meter import Meter, Snapshot, execution_history
from bench.report import emit, say
from harness.program import run_program
from localcloud.cloud import LocalCloud

FULL = {"orders": 30, "queries": 10, "record": True}
QUICK = {"orders": 6, "queries": 2}
STACKS = ("dev", "prod")
QUERIES = ("itemsSalesReport", "monthlySalesByItem", "getOrder")
IDLE_SAMPLE_S = 3.0


def run(orders: int, queries: int, stacks: tuple[str, ...] = STACKS, record: bool = False) -> dict:
    table = json.loads(idle_cost.PRICE_TABLE.read_text())
    say(f"request cost: {orders} createOrder and {queries} of each query, one at a time through localcloud;"
        f" priced with {idle_cost.PRICE_TABLE.name} ({table['date']}, notes there)")
    figures: dict = {"orders": orders, "queries_per_kind": queries}
    usage = {}
    for stack in stacks:
        usage[stack] = measure(stack, orders, queries)
        say(f"  {stack}, per createOrder: {_describe(usage[stack]['createOrder'])}")
        say(f"  {stack}, per query: {_describe(usage[stack]['query'])}")
    for stack in stacks:
        resources = run_program(stack).resources
        create = cost_model.per_million(usage[stack]["createOrder"], resources, table)
        query = cost_model.per_million(usage[stack]["query"], resources, table)
        idle = sum(charge.usd_per_month for charge in idle_cost.monthly_charges(resources, table))
        figures[stack] = {"usd_per_million_create_order": round(cost_model.total(create), 2),
                          "usd_per_million_queries": round(cost_model.total(query), 2),
                          "idle_usd_per_month": round(idle, 2)}
        say(f"  {stack}: ${figures[stack]['usd_per_million_create_order']:.2f} per million createOrder,"
            f" ${figures[stack]['usd_per_million_queries']:.2f} per million queries,"
            f" ${figures[stack]['idle_usd_per_month']:.2f} a month idle")
        for (label, lines) in (("createOrder", create), ("query", query)):
            say(f"    per million {label}: " + ", ".join(f"{line.what} ${line.usd_per_million:.2f}"
                                                       for line in lines if line.usd_per_million >= 0.005))
    sample = sum(charge.usd_per_month for charge in idle_cost.monthly_charges(idle_cost.SAMPLE_TOPOLOGY, table))
    figures["sample"] = {"idle_usd_per_month": round(sample, 2)}
    say(f"  the sample's topology: ${sample:.2f} a month idle (its requests are not run here: its functions'"
        " settings are not reproduced)")
    if record:
        recorded = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "price_date": table["date"],
                    "command": "python -m bench --only request_cost",
                    "how": "one request at a time through localcloud, functions warm; per request averages",
                    "stacks": usage}
        cost_model.USAGE_FILE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        say(f"  recorded in {cost_model.USAGE_FILE.name} (read by `python -m pipelines preview`)")
    figures["usage"] = usage
    return emit("request_cost", figures)


def measure(stack: str, orders: int, queries: int) -> dict:
    """Usage per createOrder and per query of `stack`, measured through localcloud."""
    workload = records.orders(orders + 1, seed=23)
    with LocalCloud(stack, progress=lambda message: None) as cloud:
        cloud.deploy()
        meter = Meter(cloud)
        restore = meter.install()
        try:
            bus = cloud.outputs["EventBridgeARN"]
            warm = [_create(workload[0], bus)] + [_query(kind, workload[0], bus) for kind in QUERIES]
            _send(cloud, warm)
            before = meter.snapshot()
            _send(cloud, [_create(order, bus) for order in workload[1:]])
            created = meter.snapshot()
            _send(cloud, [_query(QUERIES[n % 3], workload[1 + n // 3 % orders], bus) for n in range(3 * queries)])
            queried = meter.snapshot()
            # What the database spends with nothing to do (its background threads), to be taken off each phase.
            time.sleep(IDLE_SAMPLE_S)
            idle = meter.snapshot()
            background = (idle.server_cpu_s - queried.server_cpu_s) / (idle.at - queried.at)
        finally:
            restore()
        functions = {f.state["name"]: f.inputs["handler"].split(".")[0]
                     for f in cloud.program.of_type("aws:lambda/function:Function")}
        return {"createOrder": _usage(cloud, functions, before, created, orders, background),
                "query": _usage(cloud, functions, created, queried, 3 * queries, background)}


def _send(cloud: LocalCloud, entries: list[dict]) -> None:
    """Each entry on its own, settled before the next; every one must be answered."""
    for entry in entries:
        result = cloud.put_events([entry])[0]
        if "EventId" not in result:
            raise AssertionError(f"PutEvents refused an entry: {result}")
        cloud.settle()


def _create(order: records.Order, bus: str) -> dict:
    detail = {"command": "createOrder", "orderId": order.order_id,
              "items": [{"itemid": item, "quantity": quantity} for item, quantity in order.items]}
    return {"Time": order.iso_date, "DetailType": "orderCommand", "Source": "orderPipeline",
            "Detail": json.dumps(detail), "EventBusName": bus}


def _query(kind: str, order: records.Order, bus: str) -> dict:
    detail = {"query": kind, **({"itemid": order.items[0][0]} if kind == "monthlySalesByItem" else {}),
              **({"orderId": order.order_id} if kind == "getOrder" else {})}
    return {"DetailType": "orderQuery", "Source": "orderPipeline", "Detail": json.dumps(detail), "EventBusName": bus}


def _usage(cloud: LocalCloud, functions: dict[str, str], before: Snapshot, after: Snapshot, count: int,
           background_cpu: float) -> dict:
    requests = after.requests - before.requests
    executions = cloud.executions[before.executions:after.executions]
    billed, transitions = 0, 0
    for arn in executions:
        described = cloud.describe_execution(arn)
        if described["status"] != "SUCCEEDED":
            raise AssertionError(f"{arn} ended {described['status']}")
        elapsed_ms = (described["stopDate"] - described["startDate"]).total_seconds() * 1000
        billed += max(1, math.ceil(elapsed_ms / 100)) * 100
        transitions += sum(1 for event in execution_history(arn) if str(event["type"]).endswith("StateEntered"))
    invoked = {}
    for name, durations in after.invocations.items():
        new = durations[len(before.invocations.get(name, [])):]
        if new:
            invoked[functions.get(name, name)] = {"invocations": round(len(new) / count, 4),
                                                  "billed_ms": round(sum(math.ceil(ms) for ms in new) / count, 2)}
    log_bytes = sum(size - before.log_bytes.get(group, 0) for group, size in after.log_bytes.items())
    projector_invocations = invoked.get("projector", {}).get("invocations", 0)
    return {
        "events": _per(requests[("events", "PutEvents")], count),
        "executions": _per(len(executions), count),
        "execution_billed_ms": round(billed / max(1, len(executions)), 1),
        "state_transitions": _per(transitions, count),
        "lambda": invoked,
        "write_units": _per(after.write_units - before.write_units, count),
        "read_units": _per(after.read_units - before.read_units, count),
        "stream_reads": _per(requests[("dynamodb", "GetRecords")] + requests[("streams.dynamodb", "GetRecords")],
                             count),
        "log_bytes": _per(log_bytes, count),
        "traces": round(len(executions) / count + projector_invocations, 4),
        "db_cpu_ms": _per(max(0.0, after.server_cpu_s - before.server_cpu_s
                              - background_cpu * (after.at - before.at)) * 1000, count),
        "db_redo_bytes": _per(after.redo_bytes - before.redo_bytes, count),
        "requests": {f"{service}:{action}": _per(n, count) for (service, action), n in sorted(requests.items())},
    }


def _per(value: float, count: int) -> float:
    return round(value / count, 4)


def _describe(usage: dict) -> str:
    functions = ", ".join(f"{name} {f['invocations']:g} x {f['billed_ms'] / max(f['invocations'], 1e-9):.1f} ms"
                          for name, f in usage["lambda"].items())
    return (f"{usage['events']:g} events, {usage['executions']:g} executions ({usage['state_transitions']:g} state"
            f" transitions, {usage['execution_billed_ms']:g} ms billed), Lambda: {functions};"
            f" {usage['write_units']:g} WRU, {usage['read_units']:g} RRU, {usage['stream_reads']:g} stream reads,"
            f" {usage['log_bytes']:.0f} log bytes, {usage['traces']:g} traces, database {usage['db_cpu_ms']:.2f} ms"
            f" CPU and {usage['db_redo_bytes']:.0f} redo bytes")
