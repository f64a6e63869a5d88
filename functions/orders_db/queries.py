"""The three queries: input validation (the workflow may be bypassed), paging tokens and the response shape
`{"query", "queryStatus", "queryResult", "error"?, "queryItemId"?, "nextToken"?}`.

Client errors are 400/404 responses; database faults raise, so the workflow retries and then reports 500."""

from __future__ import annotations

import base64
import binascii
import json

from orders_db import read_models
from orders_db.connection import Database

MAX_ID_LENGTH = 64
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# monthlySalesByItem returns at most the newest ten years: bounded like every other response.
MAX_MONTHS = 120
# Step Functions states and EventBridge events hold 256 KB: a page of long non-ASCII itemids ends early
# (with a nextToken) rather than reach that.
MAX_PAGE_JSON_CHARS = 160_000
_MAX_TOKEN_LENGTH = 512


class BadRequest(ValueError):
    pass


def items_sales_report(database: Database, event: object) -> dict:
    name = "itemsSalesReport"
    try:
        params = _params(event, name)
        limit = _limit(params.get("limit"))
        after = decode_token(params.get("nextToken"))
    except BadRequest as error:
        return _failure(name, 400, str(error))
    page, more = database.read(lambda cursor: read_models.item_totals_page(cursor, after, limit))
    page, more = _within_size(page, more)
    response = _success(name, page)
    if more:
        response["nextToken"] = encode_token(page[-1]["itemid"])
    return response


def monthly_sales_by_item(database: Database, event: object) -> dict:
    name = "monthlySalesByItem"
    try:
        item_id = _identifier(_params(event, name).get("itemid"), "itemid")
    except BadRequest as error:
        return {**_failure(name, 400, str(error)), "queryItemId": None}
    months = database.read(lambda cursor: read_models.monthly_totals(cursor, item_id, MAX_MONTHS))
    return {**_success(name, months), "queryItemId": item_id}


def get_order(database: Database, event: object) -> dict:
    name = "getOrder"
    try:
        order_id = _identifier(_params(event, name).get("orderId"), "orderId")
    except BadRequest as error:
        return _failure(name, 400, str(error))
    order = database.read(lambda cursor: read_models.order(cursor, order_id))
    if order is None:
        return _failure(name, 404, "no order has this orderId")
    return _success(name, order)


def _within_size(page: list[dict], more: bool) -> tuple[list[dict], bool]:
    size = 0
    for count, row in enumerate(page):
        size += len(json.dumps(row)) + 2  # as serialised in the response, with its separator
        if size > MAX_PAGE_JSON_CHARS:
            return page[:count], True
    return page, more


def encode_token(after_item_id: str) -> str:
    payload = json.dumps({"after": after_item_id}, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: object) -> str | None:
    """The itemid a nextToken continues after. Its content only ever becomes a bound parameter."""
    if token is None:
        return None
    invalid = BadRequest("nextToken is not a token returned by itemsSalesReport")
    if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN_LENGTH:
        raise invalid
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(payload, dict) or set(payload) != {"after"}:
        raise invalid
    try:
        return _identifier(payload["after"], "nextToken")
    except BadRequest:
        raise invalid from None


def _params(event: object, name: str) -> dict:
    if not isinstance(event, dict):
        raise BadRequest("the query must be a JSON object")
    if event.get("query") != name:
        raise BadRequest(f"query must be {name!r}")
    return event


def _limit(value: object) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if type(value) is not int or not 1 <= value <= MAX_LIMIT:  # bool is an int subclass, and not a limit
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return value


def _identifier(value: object, field: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise BadRequest(f"{field} must be a string of 1 to {MAX_ID_LENGTH} characters")
    try:
        value.encode("utf-8")  # ids are stored and compared as UTF-8 bytes
    except UnicodeEncodeError:  # a lone surrogate: a valid JSON escape, but no text
        raise BadRequest(f"{field} must be valid Unicode text") from None
    return value


def _success(name: str, result: object) -> dict:
    return {"query": name, "queryStatus": 200, "queryResult": result}


def _failure(name: str, status: int, message: str) -> dict:
    return {"query": name, "queryStatus": status, "queryResult": None, "error": message}
