"""Resource policies and Lambda permissions: open principals need a source condition, service principals their
source, function URLs IAM."""

import pytest

from tests.policy.helpers import document, messages

QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
PERMISSION = "aws:lambda/permission:Permission"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:dlq"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/bus/rule"


def statement(principal, condition=None, effect="Allow") -> dict:
    found = {"Effect": effect, "Principal": principal, "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}
    return {**found, "Condition": condition} if condition else found


def public(*statements: dict, type_: str = QUEUE_POLICY) -> list[str]:
    return messages("resource-policy-no-public-principal", type_, {"policy": document(*statements)}, name="p")


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}])
def test_an_open_principal_without_a_condition_is_reported(principal):
    [message] = public(statement(principal))
    assert "QueuePolicy 'p': policy statement 0 allows sqs:SendMessage to any principal" in message


def test_an_open_principal_tied_to_a_source_or_organization_passes():
    assert public(statement("*", {"ArnEquals": {"aws:SourceArn": RULE_ARN}})) == []
    assert public(statement("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})) == []
    # A condition that restricts nothing does not count: IfExists, or a "*" value.
    assert public(statement("*", {"ArnLikeIfExists": {"aws:SourceArn": RULE_ARN}}))
    assert public(statement("*", {"ArnLike": {"aws:SourceArn": "*"}}))
    assert public(statement("*", {"Bool": {"aws:SecureTransport": "true"}}))  # not a source
    assert public(statement("*"), type_="aws:sns/topicPolicy:TopicPolicy")
    assert public(statement("*", effect="Deny")) == []
    # NotPrincipal with Allow: everyone but those named.
    assert public({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
                   "Action": "sqs:SendMessage", "Resource": QUEUE_ARN})


def test_a_service_principal_needs_its_source():
    props = {"policy": document(statement({"Service": "events.amazonaws.com"}))}
    [message] = messages("resource-policy-service-source", QUEUE_POLICY, props, name="p")
    assert "allows events.amazonaws.com on behalf of any source" in message and "aws:SourceArn" in message
    tied = {"policy": document(statement({"Service": "events.amazonaws.com"},
                                         {"StringEquals": {"aws:SourceAccount": "123456789012"}}))}
    assert messages("resource-policy-service-source", QUEUE_POLICY, tied) == []
    # A KMS key policy ties CloudWatch Logs to its log groups through the encryption context.
    logs = {"Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"}, "Action": "kms:Encrypt*",
            "Resource": "*", "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}}}
    assert messages("resource-policy-service-source", "aws:kms/key:Key", {"policy": document(logs)}) == []
    assert messages("resource-policy-service-source", QUEUE_POLICY, {"policy": document(logs)})  # not in a queue


def test_lambda_permissions():
    assert messages("resource-policy-no-public-principal", PERMISSION, {"principal": "*"}, name="perm")
    assert messages("resource-policy-no-public-principal", PERMISSION,
                    {"principal": "*", "sourceAccount": "123456789012"}) == []
    [message] = messages("resource-policy-service-source", PERMISSION, {"principal": "s3.amazonaws.com"}, name="perm")
    assert "'perm' lets s3.amazonaws.com invoke the function for any source: set source_arn" in message
    assert messages("resource-policy-service-source", PERMISSION,
                    {"principal": "events.amazonaws.com", "sourceArn": RULE_ARN}) == []
    assert messages("resource-policy-service-source", PERMISSION,
                    {"principal": "123456789012"}) == []  # an account, not a service


def test_function_urls_require_iam():
    url = "aws:lambda/functionUrl:FunctionUrl"
    [message] = messages("lambda-function-url-iam-auth", url, {"authorizationType": "NONE"}, name="u")
    assert "authorization_type=NONE" in message and "AWS_IAM" in message
    assert messages("lambda-function-url-iam-auth", url, {"authorizationType": "AWS_IAM"}) == []
