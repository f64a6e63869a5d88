"""The demo's readable output: each command or query with its response, then the read models."""

from __future__ import annotations

import json

from localcloud.cloud import LocalCloud

READ_MODELS = ("orders", "order_lines", "item_totals", "item_monthly_totals")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def _request(entry: dict) -> str:
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        return f"{entry['DetailType']} (detail is not JSON)"
    if not isinstance(detail, dict):
        return f"{entry['DetailType']} {entry['Detail']}"
    name = detail.get("command") or detail.get("query")
    arguments = {k: v for k, v in detail.items() if k not in ("command", "query")}
    items = arguments.pop("items", None)
    text = " ".join([entry["DetailType"], str(name)] + [f"{k}={json.dumps(v, ensure_ascii=False)}"
                                                         for k, v in arguments.items()])
    if isinstance(items, list):
        text += " items=" + ", ".join(f"{i.get('itemid')}x{json.dumps(i.get('quantity'))}" if isinstance(i, dict)
                                      else json.dumps(i) for i in items)
    return text


def _response(event: dict | None) -> str:
    if event is None:
        return "(no response)"
    detail = event["detail"]
    if event["detail-type"] == "orderCommandResponse":
        status = detail["commandStatus"]
        return status if status in ("orderCreated", "orderCancelled") else \
            f"{status} {detail.get('reason')}: {detail.get('message')}"
    if detail["queryStatus"] != 200:
        return f"{detail['queryStatus']} {detail.get('error')}"
    more = f" nextToken={detail['nextToken']}" if detail.get("nextToken") else ""
    return f"200 {json.dumps(detail['queryResult'], ensure_ascii=False)}{more}"


def show(cloud: LocalCloud, steps: list[tuple[str, list[tuple[dict, dict]]]]) -> None:
    responses = {}
    for event in cloud.published():
        detail = event["detail"]
        responses[detail.get("commandMessageId") or detail.get("queryMessageId")] = event
    print("\nCommands and queries, in order (each step is sent once the previous one has settled):")
    for step, pairs in steps:
        print(f"\nstep {step}")
        for entry, result in pairs:
            response = _response(responses.get(result.get("EventId"))) if "EventId" in result \
                else f"PutEvents rejected the entry: {result['ErrorCode']}"
            print(f"  {_request(entry)}\n      -> {response}")
    for table in READ_MODELS:
        connection = cloud.database.root_connection("orders")
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM {table}")  # table names come from the constant above
                headers = [column[0] for column in cursor.description]
                rows = [[_cell(value) for value in row] for row in cursor.fetchall()]
        finally:
            connection.close()
        print(f"\nread model {table}:\n")
        print(_table(headers, rows))
    print()


def _cell(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
