"""Review stacks: `review up` creates or updates review-NAME from the dev settings, made disposable;
`review destroy` destroys it and removes the stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from pulumi import automation as auto

from .errors import PipelineError
from .pipeline import DEV, PROJECT, PROTECTION_KEY, Pipeline
from .summary import Report

REVIEW_PREFIX = "review-"
REVIEW_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
REVIEW_NAME_MAX = 40
# Review stacks must be disposable: no deletion protection, no final snapshot blocking `review destroy`.
REVIEW_OVERRIDES = {
    PROTECTION_KEY: "false",
    f"{PROJECT}:dynamoDeletionProtection": "false",
    f"{PROJECT}:skipFinalSnapshot": "true",
}


def review_stack_name(name: str) -> str:
    if len(name) > REVIEW_NAME_MAX or not REVIEW_NAME.fullmatch(name):
        raise PipelineError(
            f"invalid review name {name!r}: use 1-{REVIEW_NAME_MAX} lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return REVIEW_PREFIX + name


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float))


def _config_string(value: Any) -> str:
    # How the engine hands a YAML scalar to the program (and what typed project config accepts): "true", "300".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def up(pipeline: Pipeline, name: str, *, policy_pack: Optional[Path] = None,
       policy_config: Optional[Path] = None) -> Report:
    stack_name = review_stack_name(name)
    policy = pipeline.policy_args(policy_pack, policy_config)
    dev_config = pipeline.settings(DEV).get("config") or {}
    plain = {key: _config_string(v) for key, v in dev_config.items() if _is_scalar(v)}
    plain.update(REVIEW_OVERRIDES)
    # The CLI copies the rest itself: a secret's ciphertext is bound to dev's key (it re-encrypts it, so the
    # plaintext never reaches a command line) and `set-all` would store an object or list as a string, which
    # typed project config rejects.
    copied = [key for key, v in dev_config.items() if not _is_scalar(v) and key not in REVIEW_OVERRIDES]
    stack = pipeline.stack(stack_name, create=True)
    with pipeline.step("pulumi config set-all"):
        stack.set_all_config({key: auto.ConfigValue(value) for key, value in plain.items()})
    for key in copied:
        with pipeline.step("pulumi config copy"):
            stack.workspace.cli_api.config_copy(key, stack=DEV, dest=stack_name, cwd=str(pipeline.work_dir))
    pipeline.console.line(
        f"review: {stack_name} configured from {DEV} ({len(plain)} values set, {len(copied)} copied)")
    report = pipeline.operate("up", stack, policy)
    report.command = "review up"
    return report


def destroy(pipeline: Pipeline, name: str) -> Report:
    stack_name = review_stack_name(name)
    stack = pipeline.stack(stack_name, create=False)
    report = pipeline.operate("destroy", stack, {})
    with pipeline.step("pulumi stack rm"):
        stack.workspace.remove_stack(stack_name)
    pipeline.console.line(f"review: stack {stack_name} removed")
    report.command = "review destroy"
    return report
