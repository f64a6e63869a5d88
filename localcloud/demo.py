"""The demo's readable output: each command or query with its response, then the read models."""

from __future__ import annotations

import json

from localcloud.cloud import LocalCloud

READ_MODELS = ("orders", "order_lines", "item_totals", "item_monthly_totals")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


SUMMARY_WIDTH = 60  # long query results are cut: the read models are shown in full below


def _short(text: str) -> str:
    return text if len(text) <= SUMMARY_WIDTH else text[:SUMMARY_WIDTH - 1] + "…"


def _value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _request(entry: dict) -> tuple[str, str]:
    """(event, key fields) of a command or query entry."""
    try:
        detail = json.loads(entry["Detail"])
    except ValueError:
        return entry["DetailType"], "(detail is not JSON)"
    if not isinstance(detail, dict):
        return entry["DetailType"], _short(entry["Detail"])
    kind = entry["DetailType"].removeprefix("order").lower()
    name = detail.get("command") or detail.get("query")
    arguments = {k: v for k, v in detail.items() if k not in ("command", "query")}
    items = arguments.pop("items", None)
    fields = [f"{k}={_value(v)}" for k, v in arguments.items()]
    if isinstance(items, list):
        fields.append("items=" + ",".join(_item(i) for i in items))
    return f"{kind} {name}", _short(" ".join(fields))


def _item(item) -> str:
    if not isinstance(item, dict):
        return json.dumps(item, ensure_ascii=False)
    return f"{_value(item.get('itemid'))}x{json.dumps(item.get('quantity'))}"


def _result(value) -> str:
    """A query result without JSON punctuation: a row's values, rows separated by '; ', items as itemid x qty."""
    if isinstance(value, list):
        return "; ".join(_result(row) for row in value)
    if isinstance(value, dict):
        return _item(value) if set(value) == {"itemid", "quantity"} else " ".join(map(_result, value.values()))
    return _value(value)


def _response(event: dict | None) -> tuple[str, str]:
    """(status, summary) of a response event."""
    if event is None:
        return "-", "(no response)"
    detail = event["detail"]
    if event["detail-type"] == "orderCommandResponse":
        summary = f"{detail['reason']}: {detail.get('message')}" if detail.get("reason") \
            else f"orderid {detail.get('orderid')}"
        return detail["commandStatus"], _short(summary)
    if detail["queryStatus"] != 200:
        return str(detail["queryStatus"]), _short(str(detail.get("error")))
    result = detail["queryResult"]
    rows = f"{len(result)} row{'' if len(result) == 1 else 's'}: " if isinstance(result, list) else ""
    more = f" nextToken={detail['nextToken']}" if detail.get("nextToken") else ""
    return "200", _short(rows + _result(result) + more)


def commands_table(steps: list[tuple[str, list[tuple[dict, dict]]]], published: list[dict]) -> str:
    """One row per command or query sent: its step, what it asked, and the response the system published."""
    responses = {}
    for event in published:
        detail = event["detail"]
        responses[detail.get("commandMessageId") or detail.get("queryMessageId")] = event
    rows = []
    for step, pairs in steps:
        for number, (entry, result) in enumerate(pairs):
            status = _response(responses.get(result["EventId"])) if "EventId" in result \
                else ("not sent", f"PutEvents rejected the entry: {result['ErrorCode']}")
            rows.append([step.split("-")[0] if number == 0 else "", *_request(entry), *status])
    return _table(["step", "event", "key fields", "status", "response"], rows)


def show(cloud: LocalCloud, steps: list[tuple[str, list[tuple[dict, dict]]]]) -> None:
    print("\nCommands and queries, in order (each step is sent once the previous one has settled):\n")
    print(commands_table(steps, cloud.published()))
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
