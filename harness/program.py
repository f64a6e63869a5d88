"""Run the real `__main__.py` under the Pulumi SDK's mock runtime, for a stack, as the CLI would.

Shared by the tests, the offline runtime (localcloud, which passes mocks that provision into an emulator) and
the offline policy check. It loads `Pulumi.yaml`'s config defaults and `Pulumi.<stack>.yaml` (the mock runtime
reads neither) and records every registered resource with its type, name, inputs, parent and dependencies.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings

from harness.fake_cloud import FakeCloudMocks

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "cqrs-orders"


class UnknownStack(ValueError):
    pass


@dataclass
class RegisteredResource:
    type: str
    name: str
    urn: str
    parent: str  # the parent's URN ("" for the stack's direct children)
    inputs: dict
    state: dict
    id: str
    dependencies: list[str] = field(default_factory=list)


@dataclass
class ProgramRun:
    stack: str
    config: dict[str, str]
    resources: list[RegisteredResource]
    outputs: dict[str, Any]

    def of_type(self, resource_type: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == resource_type]

    def one(self, resource_type: str, name_suffix: str = "") -> RegisteredResource:
        found = [r for r in self.of_type(resource_type) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            raise LookupError(f"expected one {resource_type} named *{name_suffix}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> RegisteredResource:
        return next(r for r in self.resources if r.urn == urn)


def stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))


def _config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None) -> dict[str, str]:
    """`Pulumi.yaml` defaults overlaid with `Pulumi.<stack>.yaml`, as namespaced config strings."""
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise UnknownStack(f"unknown stack {stack!r}: expected one of {', '.join(stacks())} (no {stack_file.name})")
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    config = {f"{PROJECT}:{key}": _config_text(spec["default"])
              for key, spec in (project.get("config") or {}).items() if "default" in spec}
    config |= {key: _config_text(value) for key, value in (yaml.safe_load(stack_file.read_text())["config"]).items()}
    config |= {key: _config_text(value) for key, value in (overrides or {}).items()}
    # As the CLI does: a project key the project does not declare is a typo, not a setting to ignore.
    declared = {f"{PROJECT}:{key}" for key in project.get("config") or {}}
    undeclared = sorted(key for key in config if key.startswith(f"{PROJECT}:") and key not in declared)
    if undeclared:
        raise UndeclaredConfig(f"Stack '{stack}' uses configuration value '{undeclared[0]}' which is not defined by"
                               " the project configuration (Pulumi.yaml)")
    return config


class UndeclaredConfig(ValueError):
    """A stack sets a project key that Pulumi.yaml does not declare; `pulumi up` refuses it the same way."""


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps each registration's parent and dependencies, which the stock monitor drops."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.requests: dict[str, tuple[str, list[str]]] = {}
        self.inputs: dict[str, dict] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.requests[response.urn] = (request.parent, list(request.dependencies))
        self.inputs[response.urn] = rpc.deserialize_properties(request.object)
        return response


def run_program(stack: str, mocks: pulumi.runtime.Mocks | None = None,
                config_overrides: Mapping[str, Any] | None = None) -> ProgramRun:
    """Run the program once; raises what the program raises (e.g. a SettingsError)."""
    config = stack_config(stack, config_overrides)
    # The SDK drives the program on the thread's current event loop; an earlier asyncio.run() leaves none.
    asyncio.set_event_loop(asyncio.new_event_loop())
    monitor = _RecordingMonitor(mocks or FakeCloudMocks())
    pulumi_settings.reset_options()
    pulumi.runtime.set_all_config(config, [])
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def execute():
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        root = pulumi_settings.get_root_resource()
        return pulumi.Output.all(**root.outputs).apply(outputs.update) if root.outputs else None

    execute()
    resources = []
    for urn, registration in monitor.resources.items():
        parent, dependencies = monitor.requests.get(urn, ("", []))
        type_, name = _type_and_name(urn)
        inputs = monitor.inputs.get(urn, {})
        resources.append(RegisteredResource(type_, name, urn, parent, inputs, dict(registration.state or {}),
                                            registration.id or "", dependencies))
    return ProgramRun(stack, config, resources, outputs)


def _type_and_name(urn: str) -> tuple[str, str]:
    # urn:pulumi:<stack>::<project>::<parent types$>type::<name>
    qualified_type, name = urn.split("::", 3)[2:]
    return qualified_type.split("$")[-1], name
