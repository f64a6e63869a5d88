"""PutEvents entry files (the format of ../shared/seed-events): a JSON array of entries."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

PLACEHOLDER_BUS = "<EventBridge Event Bus ARN>"
_FIELDS = {"EventBusName", "Time", "DetailType", "Source", "Detail", "Resources"}


class EventsFileError(ValueError):
    pass


def load_entries(path: Path) -> list[dict]:
    """The file's entries, checked for shape only: what the system says about their content is its job."""
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        raise EventsFileError(f"events file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EventsFileError(f"events file {path} cannot be read: {error}") from None
    except json.JSONDecodeError as error:
        raise EventsFileError(f"events file {path} is not valid JSON: {error}") from None
    if not isinstance(entries, list) or not entries:
        raise EventsFileError(f"events file {path} must hold a non-empty JSON array of PutEvents entries")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise EventsFileError(f"events file {path}: entry {index} is not a JSON object")
        unknown = set(entry) - _FIELDS
        if unknown:
            raise EventsFileError(f"events file {path}: entry {index} has unknown fields {sorted(unknown)}; "
                                  f"PutEvents entries take {sorted(_FIELDS)}")
        if "Time" in entry:
            try:
                datetime.fromisoformat(str(entry["Time"]).replace("Z", "+00:00"))
            except ValueError:
                raise EventsFileError(f"events file {path}: entry {index} has an invalid Time {entry['Time']!r}") \
                    from None
    return entries


def for_bus(entries: list[dict], bus_arn: str) -> list[dict]:
    """Entries addressed to the stack's bus (the placeholder, or no bus, means this stack's)."""
    prepared = []
    for entry in entries:
        entry = dict(entry)
        if entry.get("EventBusName") in (None, "", PLACEHOLDER_BUS):
            entry["EventBusName"] = bus_arn
        if "Time" in entry:
            entry["Time"] = datetime.fromisoformat(str(entry["Time"]).replace("Z", "+00:00"))
        prepared.append(entry)
    return prepared
