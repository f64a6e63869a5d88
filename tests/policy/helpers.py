"""Feeding policies resources the way the engine does (through policy.offline), one policy at a time."""

from __future__ import annotations

import functools
import json
from typing import Any, Optional

from harness.program import ProgramRun, RegisteredResource, run_program
from policy.offline import Violation, evaluate, resolve_config
from policy.rules import POLICIES

BY_NAME = {policy.name: policy for policy in POLICIES}
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker of a string unknown during preview


@functools.cache
def program_run(stack: str) -> ProgramRun:
    """The real program under the mock runtime, once per stack per test process."""
    return run_program(stack)


def resource(type_: str, props: dict, name: str = "subject", state: Optional[dict] = None,
             parent: str = "", dependencies: tuple[str, ...] = ()) -> RegisteredResource:
    urn = f"urn:pulumi:test::cqrs-orders::{type_}::{name}"
    return RegisteredResource(type_, name, urn, parent, props, state if state is not None else dict(props), "",
                              list(dependencies))


def check(policy: str, resources: list[RegisteredResource], config: Optional[dict] = None) -> list[Violation]:
    """Violations of one policy, with its schema defaults under `config`, as the runner evaluates them."""
    settings = resolve_config([BY_NAME[policy]], {policy: config or {}}, "test")
    return evaluate(resources, [BY_NAME[policy]], settings)


def messages(policy: str, type_: str, props: dict, config: Optional[dict] = None, name: str = "subject"
             ) -> list[str]:
    """Messages of one resource policy's violations for one resource; asserts they are tied to it."""
    found = check(policy, [resource(type_, props, name)], config)
    assert all(v.resource == name for v in found), found
    return [v.message for v in found]


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
