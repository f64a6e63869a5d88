"""Changes the pack lets through on purpose: each weakens the stack a little or is caught elsewhere, and a rule for
it would be noise or a duplicate. policy/README.md lists them with the same reasons (a test keeps the two equal)."""

from __future__ import annotations

from .mutant import Survivor


def _no_retry_on_query(document: dict) -> None:
    del document["States"]["ItemsSalesReport"]["Retry"]


def _flow_logs_trust_any_source(document: dict) -> None:
    del document["Statement"][0]["Condition"]


SURVIVORS = [
    Survivor("workflow-task-without-retry", "prod", "a query Task state of the workflow loses its Retry",
             lambda g: g.edit_document("routing-workflow", "definition", _no_retry_on_query),
             "the definition's retries are checked by tests/statemachine/test_definition.py (every Task retries); "
             "the pack does not parse Amazon States Language"),
    Survivor("routing-rule-disabled", "prod", "the EventBridge rule that starts the workflow is DISABLED",
             lambda g: g.set("routing-rule", "state", "DISABLED"),
             "an operational switch (e.g. during maintenance) that loses no event silently: PutEvents callers get "
             "no response event, which the end-to-end tests catch"),
    Survivor("stream-starts-at-latest", "prod", "the projector's mapping starts at LATEST instead of TRIM_HORIZON",
             lambda g: g.set("query-projector-stream", "startingPosition", "LATEST"),
             "it matters only when the mapping is created (a change replaces it), and a rebuild of the read models "
             "from the table restores what it skipped"),
    Survivor("projector-error-alarm-threshold-5", "prod", "the projector's error alarm fires above 5 errors a minute",
             lambda g: g.set("alarms-projector-errors", "threshold", 5),
             "an error threshold is a judgement call; what reaches a dead-letter queue is alarmed on the first "
             "message whatever the error alarms say"),
    Survivor("dlq-alarm-evaluated-for-an-hour", "prod", "the projector DLQ's alarm needs 60 breaching minutes",
             lambda g: g.set("alarms-projector-dlq-messages", "evaluationPeriods", 60),
             "it delays the alarm, it does not silence it: a dead letter stays visible until someone handles it"),
    Survivor("flow-logs-role-trusts-any-source", "prod", "the flow logs role's trust loses its aws:SourceArn condition",
             lambda g: g.edit_document("query-network-flow-logs-role", "assumeRolePolicy", _flow_logs_trust_any_source),
             "only a principal of this account allowed iam:PassRole on the role can attach it to a flow log; trust "
             "conditions are recommended, not required, for service roles (the Lambda roles have none)"),
    Survivor("projector-tls-off-on-client", "prod", "the projector's DB_TLS setting says off",
             lambda g: g.set("query-projector-function", "environment.variables.DB_TLS", "off"),
             "the cluster rejects unencrypted connections (aurora-tls-enforced): the projector would fail loudly, "
             "not connect in clear"),
    Survivor("projector-debug-logs", "prod", "the projector logs at DEBUG in prod",
             lambda g: g.set("query-projector-function", "loggingConfig.applicationLogLevel", "DEBUG"),
             "more log volume (cost), no new data: the handlers log the same fields at every level"),
    Survivor("target-185-retries", "prod", "the rule target retries 185 times",
             lambda g: g.set("routing-target", "retryPolicy.maximumRetryAttempts", 185),
             "still bounded (by the event age too), and what still fails reaches the alarmed dead-letter queue"),
    Survivor("aurora-snapshots-untagged", "prod", "the cluster no longer copies its tags to snapshots",
             lambda g: g.set("query-db-cluster", "copyTagsToSnapshot", False),
             "tags are bookkeeping, not protection"),
]
