"""What a stack costs: idle per month (bench/idle_cost.py) and per million requests, from what one request was
measured to use through localcloud (bench/request_cost.py, recorded in request-usage.json) priced with the dated
price table (prices-us-east-1.json) at the stack's own settings (each function's memory, from its resource graph).

A request's usage (per createOrder, or per query) is a dict of measured averages:
  events           EventBridge entries published (the inbound event and the response)
  executions       Express workflow executions; `execution_billed_ms` their duration rounded up to 100 ms
  state_transitions  states entered (informative: Express workflows are billed by duration, not transitions)
  lambda           function (handler package) -> {"invocations", "billed_ms"}: invocations and the billed
                   milliseconds (each invocation rounded up to 1 ms) per request
  write_units, read_units   DynamoDB on-demand request units;  stream_reads  GetRecords calls (free for triggers)
  log_bytes        CloudWatch Logs ingested;  traces  X-Ray traces recorded
  db_cpu_ms, db_redo_bytes  the database's CPU time and redo log written

Two figures are assumptions, written in the price table with why: how much CPU an Aurora capacity unit gives
(`aurora_vcpu_per_acu`), so that the database's measured CPU becomes ACU-seconds, and that a 4 KB page of redo log
is one Aurora write I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.program import RegisteredResource

USAGE_FILE = Path(__file__).with_name("request-usage.json")
MILLION = 1_000_000
GIB = 2**30


@dataclass(frozen=True)
class Line:
    what: str
    usd_per_million: float


def function_memory_gb(resources: list[RegisteredResource]) -> dict[str, float]:
    """Each function's memory in GB, by handler package (`projector.handler.handler` -> projector)."""
    return {r.inputs["handler"].split(".")[0]: int(r.inputs.get("memorySize") or 128) / 1024
            for r in resources if r.type == "aws:lambda/function:Function" and isinstance(r.inputs.get("handler"), str)}


def per_million(usage: dict, resources: list[RegisteredResource], table: dict) -> list[Line]:
    """The cost of a million requests that each use `usage`, on a stack of `resources`, line by line."""
    p = {name: entry["usd"] for name, entry in table["prices"].items() if "usd" in entry}
    memory = function_memory_gb(resources)
    acu_seconds = usage.get("db_cpu_ms", 0) / 1000 / table["prices"]["aurora_vcpu_per_acu"]["vcpu"]
    lambda_requests = sum(f["invocations"] for f in usage.get("lambda", {}).values())
    gb_seconds = sum(f["billed_ms"] / 1000 * memory.get(name, 0.125) for name, f in usage.get("lambda", {}).items())
    sfn_gb_seconds = (usage.get("executions", 0) * table["prices"]["sfn_express_memory_gb"]["gb"]
                      * usage.get("execution_billed_ms", 0) / 1000)
    lines = [
        Line("EventBridge events published", usage.get("events", 0) * p["eventbridge_event"]),
        Line("Step Functions Express requests", usage.get("executions", 0) * p["sfn_express_million_requests"] / MILLION),
        Line("Step Functions Express duration", sfn_gb_seconds * p["sfn_express_gb_second"]),
        Line("Lambda requests", lambda_requests * p["lambda_request"]),
        Line("Lambda duration (arm64)", gb_seconds * p["lambda_arm_gb_second"]),
        Line("DynamoDB write request units", usage.get("write_units", 0) * p["dynamodb_write_request_unit"]),
        Line("DynamoDB read request units", usage.get("read_units", 0) * p["dynamodb_read_request_unit"]),
        Line("DynamoDB stream reads by Lambda (free)", 0.0),
        Line("CloudWatch Logs ingestion", usage.get("log_bytes", 0) / GIB * p["cloudwatch_logs_ingestion_gb"]),
        Line("X-Ray traces recorded", usage.get("traces", 0) * p["xray_trace_recorded"]),
        Line("Aurora capacity (database CPU as ACU-seconds)", acu_seconds * p["aurora_serverless_v2_acu_hour"] / 3600),
        Line("Aurora write I/O (redo log in 4 KB pages)",
             usage.get("db_redo_bytes", 0) / 4096 * p["aurora_io_request"]),
    ]
    return [Line(line.what, line.usd_per_million * MILLION) for line in lines]


def total(lines: list[Line]) -> float:
    return sum(line.usd_per_million for line in lines)


def recorded_usage(stack: str, path: Path = USAGE_FILE) -> tuple[dict, str] | None:
    """The usage recorded for `stack` (review stacks are made from dev's settings: dev's), and the stack measured."""
    if not path.is_file():
        return None
    stacks = json.loads(path.read_text())["stacks"]
    measured = stack if stack in stacks else "dev" if "dev" in stacks else None
    return (stacks[measured], measured) if measured else None
