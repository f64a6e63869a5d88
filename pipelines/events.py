"""What the driver keeps from the engine's event stream: policy violations, the resources a preview or update
changes (the diff), and the resources a refresh preview finds drifted. Called on the SDK's log-watcher thread."""

from __future__ import annotations

import re
from typing import Any

from pulumi import automation as auto
from pulumi.automation import OpType

_COLOR_DIRECTIVE = re.compile(r"<\{%[^%]*%\}>")
# Steps that change nothing, or only read: not part of a diff.
_UNCHANGED = {OpType.SAME, OpType.READ, OpType.REFRESH}
# What a refresh step ends as (its ResOutputsEvent): the cloud differs from the state, or the resource is gone.
DRIFTED = {OpType.UPDATE: "changed", OpType.DELETE: "deleted"}


def resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _changed_properties(metadata: auto.StepEventMetadata) -> list[str]:
    """The property paths a step changes: its detailed diff, else its changed keys, else the outputs that differ."""
    if metadata.detailed_diff:
        return sorted(metadata.detailed_diff)
    if metadata.diffs:
        return sorted(metadata.diffs)
    old = (metadata.old.outputs if metadata.old else None) or {}
    new = (metadata.new.outputs if metadata.new else None) or {}
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


class EngineEvents:
    def __init__(self, refresh_preview: bool = False) -> None:
        self.refresh_preview = refresh_preview  # only then does an update or delete outcome mean drift
        self.violations: list[dict[str, Any]] = []
        self.diff: list[dict[str, Any]] = []
        self.drift: list[dict[str, Any]] = []
        # Every step's metadata, unchanged resources included: the old and new states a preview prices (cost.py).
        self.steps: list[auto.StepEventMetadata] = []

    def __call__(self, event: auto.EngineEvent) -> None:
        if event.policy_event is not None:
            self._policy(event.policy_event)
        elif event.resource_pre_event is not None:
            self.steps.append(event.resource_pre_event.metadata)
            if event.resource_pre_event.metadata.op not in _UNCHANGED:
                self.diff.append(self._resource(event.resource_pre_event.metadata, "op"))
        elif self.refresh_preview and event.res_outputs_event is not None \
                and event.res_outputs_event.metadata.op in DRIFTED:
            self.drift.append(self._resource(event.res_outputs_event.metadata, "change"))

    def _policy(self, policy: auto.PolicyEvent) -> None:
        self.violations.append({
            "pack": policy.policy_pack_name,
            "policy": policy.policy_name,
            "level": policy.enforcement_level,
            "message": _COLOR_DIRECTIVE.sub("", policy.message).strip(),
            "urn": policy.resource_urn,
        })

    @staticmethod
    def _resource(metadata: auto.StepEventMetadata, kind: str) -> dict[str, Any]:
        change = DRIFTED.get(metadata.op) if kind == "change" else metadata.op.value
        deleted = kind == "change" and metadata.op is OpType.DELETE
        return {"urn": metadata.urn, "type": metadata.type, "name": resource_name(metadata.urn), kind: change,
                "properties": [] if deleted else _changed_properties(metadata)}

    @property
    def mandatory(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v["level"] == "mandatory"]
