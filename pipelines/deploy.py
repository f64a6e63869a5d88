"""`preview`, `up`, `refresh` and `destroy` of one stack."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .errors import PipelineError
from .pipeline import Pipeline, is_protected
from .summary import Report

# The Automation API passes a policy pack to preview and up only; the CLI runs none on refresh and destroy.
POLICY_VERBS = ("preview", "up")


def run(pipeline: Pipeline, verb: str, stack_name: str, *, policy_pack: Optional[Path] = None,
        policy_config: Optional[Path] = None, yes: bool = False) -> Report:
    settings = pipeline.settings(stack_name)
    # Everything but preview writes the stack: refresh rewrites its state from the cloud.
    if verb != "preview" and is_protected(stack_name, settings) and not yes:
        raise PipelineError(f"stack {stack_name} is protected: `{verb}` needs --yes")
    if verb not in POLICY_VERBS and (policy_pack or policy_config):
        raise PipelineError(
            f"`{verb}` runs no policy pack (the Automation API passes one to preview and up only): "
            "drop --policy-pack/--policy-config"
        )
    policy = pipeline.policy_args(policy_pack, policy_config)
    # Deploying may create the stack; refresh/destroy of a stack the backend never saw is a mistake.
    stack = pipeline.stack(stack_name, create=verb in POLICY_VERBS)
    return pipeline.operate(verb, stack, policy)
