"""Declaring policies, and reading props as the engine hands them over.

The engine wraps props in a proxy that raises UnknownValueError on a value unknown during preview (an output of a
resource not created yet) and reports "can't run policy ... during preview" as an advisory instead of a violation.
Rules that need a value let that error through (`get`); rules that only need to know whether something is set
treat an unknown value as set (`is_set`): it is computed from another resource, so it is not missing.
Props are Mappings and Sequences (the proxies), never dicts and lists: test with the abstract types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Collection, Optional

from pulumi_policy import (EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs,
                           ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy)
from pulumi_policy.proxy import UnknownValueError

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]


def resource_policy(name: str, description: str, types: Optional[Collection[str]], *,
                    level: EnforcementLevel = MANDATORY, config: Optional[dict[str, dict]] = None
                    ) -> Callable[[ResourceCheck], ResourceValidationPolicy]:
    """Declare a resource policy whose check runs on resources of `types` (None: every type)."""
    def declare(check: ResourceCheck) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if types is None or args.resource_type in types:
                check(args, report_violation)
        return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                        enforcement_level=level,
                                        config_schema=PolicyConfigSchema(properties=config) if config else None)
    return declare


def stack_policy(name: str, description: str, *, level: EnforcementLevel = MANDATORY,
                 config: Optional[dict[str, dict]] = None) -> Callable[[StackCheck], StackValidationPolicy]:
    """Declare a stack policy (mandatory unless `level` says otherwise)."""
    def declare(check: StackCheck) -> StackValidationPolicy:
        return StackValidationPolicy(name=name, description=description, validate=check, enforcement_level=level,
                                     config_schema=PolicyConfigSchema(properties=config) if config else None)
    return declare


def depends_on(resource: Any, target: Any) -> bool:
    """Whether a stack policy's resource depends on `target` (e.g. takes one of its outputs as an input)."""
    return any(dependency.urn == target.urn for dependency in resource.dependencies or [])


def get(props: Any, *path: str) -> Any:
    """The value at `path`, None when a step is absent; raises UnknownValueError when it is unknown in preview."""
    value = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def is_set(props: Any, *path: str) -> bool:
    """Whether the value at `path` is present and not empty; an unknown value counts as set."""
    try:
        value = get(props, *path)
    except UnknownValueError:
        return True
    if isinstance(value, (str, Mapping, Sequence)):
        return len(value) > 0
    return value is not None


def as_list(value: Any) -> list:
    """A JSON/props value that may be one item or a list of them (IAM's "Action", "Resource", ...), as a list."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def redrive_target(text: Any) -> str:
    """The deadLetterTargetArn of an SQS redrive policy (a JSON string), "" when there is none."""
    try:
        policy = json.loads(text)
    except (TypeError, ValueError):
        return ""  # no redrive policy, or one AWS rejects anyway
    return policy.get("deadLetterTargetArn", "") if isinstance(policy, dict) else ""


def keys(mapping: Any) -> list[str]:
    """The keys of a props mapping. `key in proxy` reads the value, which raises when it is unknown."""
    return list(mapping) if isinstance(mapping, Mapping) else []


def label(resource_type: str, name: str) -> str:
    """How messages name a resource of a type without a rule-specific noun, e.g. "RolePolicy 'fn-policy'"."""
    return f"{resource_type.rsplit(':', 1)[-1]} '{name}'"
