"""A copy of a recorded resource graph that a mutant changes: a property, a policy document, a resource added or
removed. A change to a property is made to the inputs (what resource policies see) and to the state (the mock
runtime's outputs, which stack policies see overlaid on the inputs), so every policy sees the same change."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Sequence

from harness.program import PROJECT, RegisteredResource


class ResourceGraph:
    def __init__(self, stack: str, resources: Sequence[RegisteredResource]):
        self.stack = stack
        self.resources = copy.deepcopy(list(resources))

    def one(self, name: str) -> RegisteredResource:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise LookupError(f"{self.stack} has {len(found)} resources named {name!r}")
        return found[0]

    def output(self, name: str, key: str) -> Any:
        """An output of a resource (its id, ARN, ...), as the mock runtime computed it."""
        resource = self.one(name)
        return resource.id if key == "id" else resource.state[key]

    def set(self, name: str, path: str, value: Any) -> None:
        """Set a property; `path` is dotted, with list indexes as numbers ("ingress.0.protocol")."""
        for props in self._props(name):
            *parents, last = _steps(path)
            for step in parents:
                props = props.setdefault(step, {}) if isinstance(step, str) else props[step]
            props[last] = value

    def delete(self, name: str, path: str) -> None:
        for props in self._props(name):
            *parents, last = _steps(path)
            for step in parents:
                props = props[step]
            props.pop(last)

    def edit_document(self, name: str, prop: str, edit: Callable[[dict], None]) -> None:
        """Change a JSON document held in a string property (an IAM policy, a state machine definition)."""
        for props in self._props(name):
            document = json.loads(props[prop])
            edit(document)
            props[prop] = json.dumps(document)

    def edit_parameters(self, name: str, parameters: dict[str, Any]) -> None:
        """Set (a value) or remove (None) parameters of an RDS parameter group."""
        for props in self._props(name):
            kept = [p for p in props["parameters"] if p["name"] not in parameters]
            props["parameters"] = kept + [{"name": key, "value": value, "applyMethod": "immediate"}
                                          for key, value in parameters.items() if value is not None]

    def remove(self, name: str) -> None:
        self.resources.remove(self.one(name))

    def add(self, resource_type: str, name: str, inputs: dict, outputs: dict | None = None) -> None:
        urn = f"urn:pulumi:{self.stack}::{PROJECT}::{resource_type}::{name}"
        self.resources.append(RegisteredResource(resource_type, name, urn, "", inputs, {**inputs, **(outputs or {})},
                                                 f"{name}-id", []))

    def _props(self, name: str) -> list[dict]:
        resource = self.one(name)
        return [resource.inputs, resource.state] if resource.state else [resource.inputs]


def _steps(path: str) -> list:
    return [int(step) if step.isdigit() else step for step in path.split(".")]


def add_statement(*statements: dict) -> Callable[[dict], None]:
    """An edit that appends statements to a policy document."""
    return lambda document: document["Statement"].extend(statements)


def allow(actions: list[str], resources: list[str]) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}
