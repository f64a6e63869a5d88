"""The run's summary in Markdown, for a pull request comment or a CI job summary (`--summary-file`): the diff (each
resource the operation changes, and which properties) next to the policy results, mandatory then advisory, grouped
by resource; or, for `drift`, each drifted resource and property."""

from __future__ import annotations

from typing import Any

from .cost import LABELS, signed
from .events import resource_name
from .summary import Report, format_changes

LEVEL_ORDER = {"mandatory": 0, "advisory": 1}
# The commands that run the policy pack (refresh, destroy and drift run none).
POLICY_COMMANDS = ("preview", "up", "review up", "promote")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _resources(title: str, resources: list[dict[str, Any]], kind: str) -> list[str]:
    lines = [f"**{title}**", "", f"| resource | type | {kind} | properties |", "|---|---|---|---|"]
    lines += [f"| `{_cell(r['name'])}` | `{_cell(r['type'])}` | {r[kind]} | "
              f"{', '.join(f'`{_cell(p)}`' for p in r['properties']) or '-'} |" for r in resources]
    return lines + [""]


def _policy(violations: list[dict[str, Any]]) -> list[str]:
    mandatory = sum(v["level"] == "mandatory" for v in violations)
    lines = [f"**Policy:** {mandatory} mandatory, {len(violations) - mandatory} advisory", ""]
    if not violations:
        return lines
    ordered = sorted(violations, key=lambda v: (resource_name(v.get("urn") or ""), LEVEL_ORDER.get(v["level"], 2),
                                                v["policy"]))
    lines += ["| resource | level | policy | message |", "|---|---|---|---|"]
    lines += [f"| `{_cell(resource_name(v.get('urn') or '') or '(stack)')}` | {v['level']} | `{_cell(v['policy'])}` | "
              f"{_cell(v['message'])} |" for v in ordered]
    return lines + [""]


def render_markdown(report: Report) -> str:
    target = f" of `{report.stack}`" if report.stack else ""
    lines = [f"### `{report.command}`{target}: {report.status}", ""]
    if report.message and report.status not in ("succeeded", "drifted"):
        lines += [f"> {_cell(report.message)}", ""]
    if report.changes is not None:
        lines += [f"**Changes:** {format_changes(report.changes)}", ""]
    if report.drift:
        lines += _resources("Drifted resources", report.drift, "change")
    if report.diff:
        lines += _resources("Diff", report.diff, "op")
    if report.command in POLICY_COMMANDS:
        lines += _policy(report.violations)
    if report.cost is not None:
        lines += _cost(report.cost)
    return "\n".join(lines)


def _cost(cost: dict[str, Any]) -> list[str]:
    measured = f"; usage per request measured on `{cost['usageMeasuredOn']}`" if cost.get("usageMeasuredOn") else ""
    lines = [f"**Cost** (list prices of {cost['priceDate']}{measured})", ""]
    if "error" in cost["proposed"]:
        return lines + [f"> {_cell(cost['proposed']['error'])}", ""]
    lines += ["| | this change | deployed | change |", "|---|---|---|---|"]
    for key, label in LABELS:
        if key in cost["proposed"]:
            deployed = cost["deployed"].get(key) if cost.get("deployed") and "error" not in cost["deployed"] else None
            change = (cost.get("change") or {}).get(key)
            lines.append(f"| {label} | ${cost['proposed'][key]:.2f} | "
                         f"{'-' if deployed is None else f'${deployed:.2f}'} | "
                         f"{'-' if change is None else signed(change)} |")
    return lines + [""]
