"""Parsing DynamoDB stream records into order changes, and rejecting malformed ones as poison."""

import re
from datetime import datetime

import pytest
from boto3.dynamodb import types as boto3_types
from hypothesis import given
from hypothesis import strategies as st

from orders_db import stream_records
from orders_db.stream_records import CANCELLED, CREATED, REMOVED, PoisonRecord, Revision, parse_record
from orders_test_support import cancelled, created, image, record, removed

ITEMS = [("z3333", 6), ("z4444", 3)]


def test_insert_becomes_the_created_order():
    change = parse_record(created("6101", ITEMS, "2022-10-13T19:00:00Z"))
    assert (change.order_id, change.version, change.status) == ("6101", 1, CREATED)
    assert change.order_date == datetime(2022, 10, 13, 19, 0)
    assert change.items == (("z3333", 6), ("z4444", 3))


def test_modify_takes_the_new_image():
    change = parse_record(cancelled("6101", ITEMS, version=7))
    assert (change.version, change.status, change.items) == (7, CANCELLED, (("z3333", 6), ("z4444", 3)))


def test_remove_becomes_a_tombstone_of_the_old_version():
    change = parse_record(removed("6101", ITEMS, version=3, status=CANCELLED))
    assert (change.order_id, change.version, change.status, change.items) == ("6101", 3, REMOVED, ())
    epoch = change.epoch
    assert change.revision.supersedes(Revision(epoch, 3, False))  # outranks the version it removed
    assert not change.revision.supersedes(Revision(epoch, 4, False))  # not the next one


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2022-10-13T19:00:00Z", datetime(2022, 10, 13, 19, 0)),
        ("2022-10-13T19:00:00+00:00", datetime(2022, 10, 13, 19, 0)),
        ("2022-10-13T21:30:00+02:30", datetime(2022, 10, 13, 19, 0)),
        ("2022-10-31T23:30:00-01:00", datetime(2022, 11, 1, 0, 30)),  # the UTC month is November
        ("2022-10-13T19:00:00.123456Z", datetime(2022, 10, 13, 19, 0, 0, 123000)),
    ],
)
def test_dates_are_stored_as_utc_to_the_millisecond(text, utc):
    assert parse_record(created("o", ITEMS, text)).order_date == utc


def test_the_same_item_twice_keeps_both_lines_in_order():
    change = parse_record(created("o", [("a", 1), ("b", 2), ("a", 3)]))
    assert change.items == (("a", 1), ("b", 2), ("a", 3))


def test_ids_are_kept_exactly():
    for order_id in ("a", "A", "é", "e\u0301", "a ", " a", "🧾" * 64, "x" * 64):
        assert parse_record(created(order_id, [(order_id, 1)])).order_id == order_id


def _with(field, value, order_id="o"):
    new = image(order_id, 1, CREATED, "2022-10-13T19:00:00Z", ITEMS)
    if value is None:
        del new[field]
    else:
        new[field] = value
    return record("INSERT", order_id, new=new)


@pytest.mark.parametrize(
    ("poison", "reason"),
    [
        (_with("orderId", None), "orderId"),
        (_with("orderId", {"S": ""}), "orderId"),
        (_with("orderId", {"S": "x" * 65}), "orderId"),
        (_with("orderId", {"N": "6101"}), "orderId"),
        (_with("status", {"S": "orderShipped"}), "status"),
        (_with("status", None), "status"),
        (_with("orderDate", None), "orderDate"),
        (_with("orderDate", {"S": "13/10/2022"}), "orderDate"),
        (_with("orderDate", {"S": "2022-10-13T19:00:00"}), "UTC offset"),
        (_with("orderDate", {"S": "0999-12-31T00:00:00Z"}), "year"),
        (_with("orderDate", {"S": "9999-12-31T23:00:00-05:00"}), "out of range"),
        (_with("version", None), "version"),
        (_with("version", {"N": "0"}), "version"),
        (_with("version", {"N": "1.5"}), "version"),
        (_with("version", {"S": "1"}), "version"),
        (_with("version", {"N": "4294967296"}), "version"),
        (_with("items", None), "items"),
        (_with("items", {"L": []}), "items"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "a"}, "quantity": {"N": "1"}}}] * 101}), "items"),
        (_with("items", {"L": [{"S": "a"}]}), "items[0]"),
        (_with("items", {"L": [{"M": {"quantity": {"N": "1"}}}]}), "items[0].itemid"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "x" * 65}, "quantity": {"N": "1"}}}]}), "items[0].itemid"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "a"}, "quantity": {"N": "0"}}}]}), "items[0].quantity"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "a"}, "quantity": {"N": "10001"}}}]}), "items[0].quantity"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "a"}, "quantity": {"N": "2.5"}}}]}), "items[0].quantity"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "a"}, "quantity": {"S": "2"}}}]}), "items[0].quantity"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "a"}, "quantity": {"N": "abc"}}}]}), "DynamoDB JSON"),
        (_with("version", {"X": "1"}), "DynamoDB JSON"),
        (_with("orderId", {"S": "bad\ud800id"}), "orderId must be valid Unicode text"),
        (_with("items", {"L": [{"M": {"itemid": {"S": "\udfff"}, "quantity": {"N": "1"}}}]}), "items[0].itemid"),
        (record("INSERT", "o"), "NewImage"),
        (record("REMOVE", "o", new=image("o", 1, CREATED, "2022-10-13T19:00:00Z", ITEMS)), "OldImage"),
        ({**created("o", ITEMS), "eventName": "TRUNCATE"}, "eventName"),
        ({"eventName": "INSERT"}, "not a DynamoDB stream record"),
        ("not a record", "not a DynamoDB stream record"),
    ],
)
def test_malformed_records_are_poison(poison, reason):
    with pytest.raises(PoisonRecord, match=re.escape(reason)):
        parse_record(poison)


# The projector reads images with Powertools' copy of boto3's TypeDeserializer (no boto3 import at cold start):
# whatever DynamoDB can hold, both read alike, and what boto3's rejects, the copy rejects too.
dynamodb_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=20) | st.binary(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**30), max_value=10**30)
    | st.integers(min_value=-(10**37), max_value=10**37),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(dynamodb_values)
def test_the_deserializer_reads_dynamodb_json_as_boto3s_does(value):
    serialized = boto3_types.TypeSerializer().serialize(value)
    theirs = boto3_types.TypeDeserializer().deserialize(serialized)
    assert stream_records._deserializer().deserialize(serialized) == plain(theirs)


def plain(value):
    """boto3 wraps binary values in its Binary class; the copy returns the bytes."""
    if isinstance(value, boto3_types.Binary):
        return value.value
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


MALFORMED = [{}, {"X": "1"}, {"N": "1e999"}, {"N": "1." + "0" * 40 + "1"}, {"L": [{}]},
             {"M": {"a": {"Q": 1}}}, {"N": None}]


@pytest.mark.parametrize("malformed", MALFORMED)
def test_what_boto3s_deserializer_rejects_the_projector_rejects(malformed):
    with pytest.raises(Exception):
        boto3_types.TypeDeserializer().deserialize(malformed)
    with pytest.raises(PoisonRecord, match="not valid DynamoDB JSON"):
        parse_record(record("INSERT", "1", new={**image("1", 1, CREATED, "2022-10-13T19:00:00Z", [("z1", 1)]),
                                                "extra": malformed}))
