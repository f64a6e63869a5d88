"""The projector's fast reading of DynamoDB JSON (`stream_records._deserialize`) gives what Powertools' deserializer
gives, for any value DynamoDB can hold and for malformed ones (the same error type), and the fast validation of
dates and lines accepts and rejects what the general one does."""

import pytest
from boto3.dynamodb import types as boto3_types
from hypothesis import given

from orders_db import stream_records
from orders_db.stream_records import PoisonRecord
from test_stream_records import MALFORMED, dynamodb_values

SHAPES = [{"S": "x", "N": "1"}, {"N": "0"}, {"N": "007"}, {"N": "1234567890"}, {"N": "+5"}, {"N": "-5"}, {"N": "٣"},
          {"N": "²"}, {"N": ""}, {"N": "1e3"}, {"S": 5}, {"M": []}, {"L": "ab"}, {"L": ({"S": "a"},)},
          {"BOOL": True}, {"NULL": True}, {"B": b"\x00"}, {"SS": ["a"]}]


def outcome(read, value):
    try:
        return "value", read(value)
    except Exception as error:  # noqa: BLE001 - compared by type
        return "error", type(error)


@given(dynamodb_values)
def test_the_fast_reading_equals_the_deserializer_on_any_value(value):
    serialized = boto3_types.TypeSerializer().serialize(value)
    fast = stream_records._deserialize(serialized)
    assert fast == stream_records._deserializer().deserialize(serialized)
    assert type(fast) is type(stream_records._deserializer().deserialize(serialized)) or isinstance(fast, int)


@pytest.mark.parametrize("value", MALFORMED + SHAPES)
def test_the_fast_reading_equals_the_deserializer_on_odd_and_malformed_values(value):
    assert outcome(stream_records._deserialize, value) == outcome(stream_records._deserializer().deserialize, value)


@pytest.mark.parametrize("text", ["2022-10-13T19:00:00Z", "2022-10-13T19:00:00.123456Z", "2022-10-13T19:00:00+00:00",
                                  "2022-11-01T00:30:00+01:00", "2022-10-13T19:00:00.5-03:30"])
def test_dates_in_utc_read_as_after_a_conversion(text):
    from datetime import datetime, timezone

    converted = datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None)
    assert stream_records._utc_datetime(text, "d") == converted.replace(microsecond=converted.microsecond // 1000 * 1000)


@pytest.mark.parametrize("items, reason", [
    ([{"itemid": "a" * 65, "quantity": 1}], "items[0].itemid"), ([{"itemid": "", "quantity": 1}], "items[0].itemid"),
    ([{"itemid": "é", "quantity": 0}], "items[0].quantity"), ([{"itemid": "a", "quantity": True}], "items[0].quantity"),
    ([{"itemid": "a", "quantity": 10_001}], "items[0].quantity"), ([{"itemid": 5, "quantity": 1}], "items[0].itemid"),
])
def test_lines_are_checked_alike_on_the_fast_path(items, reason):
    order = {"orderId": "o", "version": 1, "status": "orderCreated", "orderDate": "2022-10-13T19:00:00Z", "items": items}
    with pytest.raises(PoisonRecord, match=reason.replace("[", r"\[").replace("]", r"\]")):
        stream_records._order_change(order, "")
