"""`promote`: deploy prod, only if dev's last update succeeded and prod's preview passes the policy pack."""

from __future__ import annotations

from .errors import CommandFailed, PipelineError, Refused, UnknownStack
from .events import EngineEvents
from .pipeline import DEV, PROD, Pipeline
from .summary import Report, format_changes

PROMOTE_POLICY_PACK = "policy"
PROMOTE_POLICY_CONFIG = "policy/config.prod.json"


def promote(pipeline: Pipeline, *, yes: bool) -> Report:
    if not yes:
        raise PipelineError(f"promote deploys the protected stack {PROD}: pass --yes")
    pipeline.settings(PROD)
    policy = pipeline.policy_args(pipeline.work_dir / PROMOTE_POLICY_PACK, pipeline.work_dir / PROMOTE_POLICY_CONFIG)
    _require_healthy_dev(pipeline)
    prod = pipeline.stack(PROD, create=True)
    events = EngineEvents()
    try:
        preview = pipeline.run_engine("preview", prod, events,
                                      lambda: prod.preview(**pipeline.streams(events), **policy))
    except CommandFailed:
        # The CLI fails a preview that has a mandatory violation: that is the refusal below, not a failure.
        if not events.mandatory:
            raise
    if events.mandatory:
        raise Refused(f"mandatory policy violations in the {PROD} preview", events.mandatory)
    changes = format_changes(preview.change_summary)
    pipeline.console.line(f"promote: {PROD} preview passed the policy pack ({changes}); deploying")
    report = pipeline.operate("up", prod, policy)
    report.command = "promote"
    return report


def _require_healthy_dev(pipeline: Pipeline) -> None:
    try:
        dev = pipeline.stack(DEV, create=False)
    except UnknownStack:
        raise Refused(f"the {DEV} stack does not exist in the backend: deploy {DEV} first") from None
    with pipeline.step("pulumi stack history"):
        history = dev.history(page_size=1, show_secrets=False)
    if not history:
        raise Refused(f"the {DEV} stack has never been updated: deploy {DEV} first")
    last = history[0]
    if last.result != "succeeded":
        raise Refused(f"the last update of {DEV} (#{last.version}, {last.kind}) {last.result}: fix {DEV} first")
