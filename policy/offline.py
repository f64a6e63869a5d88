"""Evaluate policies against recorded resources the way the Pulumi engine does, without the CLI.

What the engine does, and this module repeats:
- pack config: each policy's JSON-schema defaults under the file's values; "all" and a policy's
  "enforcementLevel" override the level; "disabled" skips the policy, "remediate" reports as mandatory;
- resource policies run on every resource with its inputs, stack policies once with every resource's outputs
  (here: the inputs overlaid with the mock's state), parents and dependencies linked;
- props are wrapped in the engine's unknown-checking proxy and secrets are unwrapped; a policy that reads a value
  unknown during preview yields an advisory "can't run policy" instead of a violation.
What it does not see: resource options (protect, ignoreChanges, ...), providers and per-property dependencies,
which the harness does not record; no policy of this pack reads them.
Stricter than the engine: a config naming an unknown policy or setting is an error (a typo would otherwise
silently keep the default).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from inspect import isawaitable
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence

from pulumi.runtime.rpc import is_rpc_secret, unwrap_rpc_secret
from pulumi_policy import (EnforcementLevel, Policy, PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions,
                           ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

# JSON-schema keywords and types the config validation understands; tests keep the pack's schemas within them.
SCHEMA_KEYWORDS = {"type", "default", "description", "minimum", "maximum"}
SCHEMA_TYPES: dict[str, Callable[[Any], bool]] = {
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
}


class ConfigError(ValueError):
    """The pack config cannot be used; the message is one line naming the file and the problem."""


class Resource(Protocol):
    """A recorded resource (harness.program.RegisteredResource)."""
    type: str
    name: str
    urn: str
    parent: str
    inputs: dict
    state: dict
    dependencies: list[str]


@dataclass(frozen=True)
class PolicySettings:
    level: EnforcementLevel
    config: dict[str, Any]


@dataclass(frozen=True)
class Violation:
    level: str  # "mandatory" or "advisory"
    policy: str
    resource: str  # the resource's name, "" for the stack as a whole
    message: str


def load_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read policy config {path}: {error.strerror}") from None
    except ValueError as error:
        raise ConfigError(f"policy config {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"policy config {path} must be a JSON object keyed by policy name")
    return data


def resolve_config(policies: Sequence[Policy], file_config: Mapping[str, Any], source: str
                   ) -> dict[str, PolicySettings]:
    """Each policy's enforcement level and config: schema defaults, then the file's values, validated."""
    unknown = sorted(set(file_config) - {p.name for p in policies} - {"all"})
    if unknown:
        raise ConfigError(f"{source}: no such policies {unknown}")
    every = _level(file_config["all"], source, "all") if "all" in file_config else None
    settings = {}
    for policy in policies:
        entry = file_config.get(policy.name, {})
        level = every or policy.enforcement_level
        if isinstance(entry, str):
            level, entry = _level(entry, source, policy.name), {}
        elif not isinstance(entry, dict):
            raise ConfigError(f"{source}: {policy.name} must be an enforcement level or an object")
        elif "enforcementLevel" in entry:
            level = _level(entry["enforcementLevel"], source, policy.name)
        schema = policy.config_schema.properties if policy.config_schema else {}
        config = {key: spec["default"] for key, spec in schema.items() if "default" in spec}
        for key, value in entry.items():
            if key == "enforcementLevel":
                continue
            if key not in schema:
                raise ConfigError(f"{source}: {policy.name} has no setting {key!r} "
                                  f"(settings: {', '.join(schema) or 'none'})")
            _validate(schema[key], value, f"{source}: {policy.name}.{key}")
            config[key] = value
        settings[policy.name] = PolicySettings(level, config)
    return settings


def _level(value: Any, source: str, where: str) -> EnforcementLevel:
    try:
        return EnforcementLevel(value)
    except ValueError:
        allowed = ", ".join(level.value for level in EnforcementLevel)
        raise ConfigError(f"{source}: {where}: enforcement level {value!r} is not one of {allowed}") from None


def _validate(spec: Mapping[str, Any], value: Any, where: str) -> None:
    if not SCHEMA_TYPES[spec["type"]](value):
        raise ConfigError(f"{where} = {value!r} is not of type {spec['type']}")
    if "minimum" in spec and value < spec["minimum"]:
        raise ConfigError(f"{where} = {value!r} is below the minimum {spec['minimum']}")
    if "maximum" in spec and value > spec["maximum"]:
        raise ConfigError(f"{where} = {value!r} is above the maximum {spec['maximum']}")


def evaluate(resources: Sequence[Resource], policies: Sequence[Policy],
             settings: Mapping[str, PolicySettings]) -> list[Violation]:
    """Every violation of every enabled policy, as `pulumi preview` would report them."""
    violations: list[Violation] = []
    for policy in policies:
        setting = settings[policy.name]
        if setting.level is EnforcementLevel.DISABLED:
            continue
        level = EnforcementLevel.MANDATORY if setting.level is EnforcementLevel.REMEDIATE else setting.level
        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                args = ResourceValidationArgs(resource.type, _props(resource.inputs), resource.urn, resource.name,
                                              _options(resource), None, dict(setting.config))
                # The engine ties a resource policy's violations to the resource it validates.
                violations += _run(policy, level, lambda report: policy.validate(args, report),
                                   lambda urn: resource.name)
        else:
            args = StackValidationArgs(_stack_resources(resources), dict(setting.config))
            names = {r.urn: r.name for r in resources}
            violations += _run(policy, level, lambda report: policy.validate(args, report),
                               lambda urn: names.get(urn or "", ""))
    return violations


def _run(policy: Policy, level: EnforcementLevel, validate: Callable[[Callable], Any],
         resource_name: Callable[[Optional[str]], str]) -> list[Violation]:
    found: list[Violation] = []

    def report_violation(message: str, urn: Optional[str] = None) -> None:
        found.append(Violation(level.value, policy.name, resource_name(urn), message))

    try:
        result = validate(report_violation)
        if isawaitable(result):
            asyncio.run(result)
    except UnknownValueError as error:
        found.append(Violation(EnforcementLevel.ADVISORY.value, policy.name, resource_name(None),
                               f"can't run policy '{policy.name}' during preview: {error.message}"))
    except _NotApplicableError:
        pass
    return found


def _plain(value: Any) -> Any:
    """Props as the engine deserializes them for a policy: secrets unwrapped, everything else as is."""
    if is_rpc_secret(value):
        return _plain(unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _props(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(_plain(dict(values)))


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=False, ignore_changes=[], delete_before_replace=None, aliases=[],
                                 custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[],
                                 parent=resource.parent or None)


def _stack_resources(resources: Sequence[Resource]) -> list[PolicyResource]:
    by_urn = {r.urn: PolicyResource(r.type, _props({**r.inputs, **r.state}), r.urn, r.name, _options(r), None,
                                    None, [], {})
              for r in resources}
    for resource in resources:
        policy_resource = by_urn[resource.urn]
        policy_resource.parent = by_urn.get(resource.parent)
        policy_resource.dependencies = [by_urn[urn] for urn in resource.dependencies if urn in by_urn]
    return list(by_urn.values())
