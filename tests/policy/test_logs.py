"""Log group retention."""

import pytest

from tests.policy.helpers import messages

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def retention(days, **config) -> list[str]:
    props = {} if days is None else {"retentionInDays": days}
    return messages("log-group-retention", LOG_GROUP, props, config=config or None, name="fn-logs")


@pytest.mark.parametrize("days", [7.0, 30.0, 365.0])
def test_a_valid_retention_within_the_default_bounds_passes(days: float):
    assert retention(days) == []


@pytest.mark.parametrize("days", [None, 0.0])
def test_logs_kept_forever_fail(days):
    [message] = retention(days)
    assert "'fn-logs' keeps logs forever" in message and "retention_in_days" in message


def test_a_retention_cloudwatch_does_not_accept_fails():
    [message] = retention(10.0)
    assert "10 days, which CloudWatch Logs does not accept" in message
    assert "7, 14, 30, 60, 90" in message


def test_bounds_come_from_the_config():
    assert "400 days, outside 7..365" in retention(400.0)[0]
    assert retention(3.0)  # below the default minimum of 7
    assert retention(90.0, minimumDays=90, maximumDays=731) == []
    [message] = retention(7.0, minimumDays=90, maximumDays=731)
    assert message.endswith("one of 90, 120, 150, 180, 365, 400, 545, 731.")
