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
    """The file's entries, checked for shape and types only: what the system says about their content is its job."""
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
        problem = _entry_problem(entry)
        if problem:
            raise EventsFileError(f"events file {path}: entry {index} {problem}")
    return entries


def _entry_problem(entry: dict) -> str | None:
    """What botocore would refuse before sending (wrong types), and a Time that is not ISO-8601."""
    for field in ("EventBusName", "DetailType", "Source", "Detail"):
        if field in entry and not isinstance(entry[field], str):
            hint = " (encode the JSON object as a string)" if field == "Detail" else ""
            return f"has a non-string {field}{hint}: {json.dumps(entry[field])[:80]}"
    resources = entry.get("Resources", [])
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return "has Resources that are not a list of strings"
    if "Time" in entry:
        try:
            datetime.fromisoformat(str(entry["Time"]).replace("Z", "+00:00"))
        except ValueError:
            return f"has an invalid Time {entry['Time']!r}"
    return None


def check_bus(path: Path, entries: list[dict], bus_arn: str) -> None:
    """Every entry goes to the stack's bus: the placeholder, no bus, or the bus's own name or ARN."""
    accepted = {None, "", PLACEHOLDER_BUS, bus_arn, bus_arn.rsplit("/", 1)[-1]}
    for index, entry in enumerate(entries):
        if entry.get("EventBusName") not in accepted:
            raise EventsFileError(f"events file {path}: entry {index} has EventBusName {entry['EventBusName']!r}, "
                                  f"which is not this stack's bus ({bus_arn}); use {PLACEHOLDER_BUS!r}")


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
