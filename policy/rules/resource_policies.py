"""Resource policies (SQS, SNS, S3, EventBridge buses, Secrets Manager, KMS) and Lambda permissions: no open
principal without a condition that ties it to a source, every service principal tied to its source (the confused
deputy), and function URLs that require IAM."""

from __future__ import annotations

import json

from .policy_documents import (KMS_SOURCE_KEY_PREFIXES, PRINCIPAL_KEYS, SOURCE_KEYS, condition_keys, is_public,
                               parse_statements, services)
from .support import get, is_set, label, resource_policy

PERMISSION = "aws:lambda/permission:Permission"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
KMS_KEY = "aws:kms/key:Key"
# type -> the prop holding its JSON resource policy
RESOURCE_POLICIES = {"aws:sqs/queuePolicy:QueuePolicy": "policy", "aws:sqs/queue:Queue": "policy",
                     "aws:sns/topicPolicy:TopicPolicy": "policy", "aws:sns/topic:Topic": "policy",
                     "aws:s3/bucketPolicy:BucketPolicy": "policy",
                     "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
                     "aws:secretsmanager/secretPolicy:SecretPolicy": "policy", KMS_KEY: "policy"}
SOURCE_FIX = "add a Condition on aws:SourceArn (or aws:SourceAccount)"


def _statements(args) -> list[tuple[int, dict]]:
    """(index, statement) of each Allow statement of the resource's policy; nothing to check when it has none.
    A policy that does not parse is iam-no-wildcard-actions' to report (S3, SQS, SNS) or AWS's to reject."""
    statements = parse_statements(get(args.props, RESOURCE_POLICIES[args.resource_type])) or []
    return [(index, statement) for index, statement in enumerate(statements) if statement.get("Effect") == "Allow"]


@resource_policy("resource-policy-no-public-principal",
                 "Resource policies and Lambda permissions allow an open principal (\"*\", {\"AWS\": \"*\"}, "
                 "NotPrincipal) only under a condition that ties it to a source or principal (aws:SourceArn, "
                 "aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce, ...).", {*RESOURCE_POLICIES, PERMISSION})
def no_public_principal(args, report_violation):
    subject = label(args.resource_type, args.name)
    if args.resource_type == PERMISSION:
        if get(args.props, "principal") == "*" and not any(
                is_set(args.props, key) for key in ("sourceArn", "sourceAccount", "principalOrgId")):
            report_violation(f"{subject} lets anyone invoke the function (principal='*'): set principal to the "
                             "caller's service or account, or source_arn/source_account.")
        return
    for index, statement in _statements(args):
        if is_public(statement) and not condition_keys(statement) & (SOURCE_KEYS | PRINCIPAL_KEYS):
            report_violation(f"{subject}: policy statement {index} allows {statement.get('Action')} to any "
                             f"principal ({json.dumps(statement.get('Principal', 'NotPrincipal'))}): name the "
                             f"principal, or {SOURCE_FIX} or aws:PrincipalOrgID.")


@resource_policy("resource-policy-service-source",
                 "Resource policies and Lambda permissions that allow an AWS service tie it to the source resource "
                 "or account (aws:SourceArn / aws:SourceAccount; source_arn on a permission), so no other account's "
                 "resource can use the service to reach it (the confused deputy).", {*RESOURCE_POLICIES, PERMISSION})
def service_source(args, report_violation):
    subject = label(args.resource_type, args.name)
    if args.resource_type == PERMISSION:
        principal = get(args.props, "principal")
        if isinstance(principal, str) and principal.endswith(".amazonaws.com") and not (
                is_set(args.props, "sourceArn") or is_set(args.props, "sourceAccount")):
            report_violation(f"{subject} lets {principal} invoke the function for any source: set source_arn "
                             "(or source_account).")
        return
    for index, statement in _statements(args):
        keys = condition_keys(statement)
        tied = keys & SOURCE_KEYS or (args.resource_type == KMS_KEY and any(
            key.startswith(KMS_SOURCE_KEY_PREFIXES) for key in keys))
        if services(statement) and not tied:
            report_violation(f"{subject}: policy statement {index} allows {', '.join(services(statement))} on behalf "
                             f"of any source: {SOURCE_FIX}.")


@resource_policy("lambda-function-url-iam-auth", "Lambda function URLs require IAM (authorization_type AWS_IAM).",
                 {FUNCTION_URL})
def function_url_iam_auth(args, report_violation):
    if get(args.props, "authorizationType") != "AWS_IAM":
        report_violation(f"function URL '{args.name}' lets anyone call the function "
                         f"(authorization_type={get(args.props, 'authorizationType')}): "
                         "set authorization_type='AWS_IAM'.")


POLICIES = [no_public_principal, service_source, function_url_iam_auth]
