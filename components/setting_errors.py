"""The error an invalid stack setting raises: components/settings.py and the settings' helpers raise it."""

from __future__ import annotations

import pulumi


class SettingsError(pulumi.RunError):
    """A stack setting is invalid; the message names the key, the value and what is allowed."""


def fail(key: str, value: object, allowed: str) -> SettingsError:
    return SettingsError(f"invalid setting cqrs-orders:{key} = {value!r}: {allowed}")
