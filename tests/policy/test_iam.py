"""IAM rules."""

import pytest

from tests.policy.helpers import document, messages

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def allow(action, resource=TABLE_ARN, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def policy_messages(rule: str, *statements: dict, type_: str = ROLE_POLICY) -> list[str]:
    return messages(rule, type_, {"policy": document(*statements)}, name="fn-policy")


def trust(principal, effect: str = "Allow") -> dict:
    return {"assumeRolePolicy": document({"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"})}


def test_named_actions_on_named_resources_pass():
    statement = allow(["dynamodb:GetItem", "dynamodb:PutItem"])
    assert policy_messages("iam-no-wildcard-actions", statement) == []
    assert policy_messages("iam-no-wildcard-resources", statement) == []


@pytest.mark.parametrize("action", ["*", "s3:*", "dynamodb:Get*"])
def test_wildcard_actions_fail(action: str):
    [message] = policy_messages("iam-no-wildcard-actions", allow(["dynamodb:GetItem", action]))
    assert "RolePolicy 'fn-policy'" in message and repr([action]) in message and "exact actions" in message


def test_wildcard_actions_everywhere_a_document_allows():
    assert policy_messages("iam-no-wildcard-actions", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert policy_messages("iam-no-wildcard-actions", allow("sqs:*", Principal={"Service": "events.amazonaws.com"}),
                           type_="aws:sqs/queuePolicy:QueuePolicy")
    inline = {"inlinePolicies": [{"name": "inline", "policy": document(allow("s3:*"))}]}
    [message] = messages("iam-no-wildcard-actions", ROLE, inline)
    assert "inline policy 'inline'" in message
    # Deny statements only take permissions away.
    assert policy_messages("iam-no-wildcard-actions", {"Effect": "Deny", "Action": "*", "Resource": "*"}) == []


def test_a_document_that_cannot_be_read_fails_closed():
    for rule in ("iam-no-wildcard-actions", "iam-no-wildcard-resources"):
        for text in ("{not json", '["a list"]', '{"Statement": ["not a statement"]}'):
            [message] = messages(rule, ROLE_POLICY, {"policy": text})
            assert "cannot be checked" in message


def test_star_resources_only_for_unscopable_actions():
    unscopable = allow(["xray:PutTraceSegments", "EC2:CreateNetworkInterface"], "*")  # actions are case-insensitive
    assert policy_messages("iam-no-wildcard-resources", unscopable) == []
    [message] = policy_messages("iam-no-wildcard-resources",
                                allow(["xray:PutTraceSegments", "dynamodb:GetItem"], ["*", TABLE_ARN]))
    assert "['dynamodb:GetItem'] on every resource" in message and "xray" not in message
    assert policy_messages("iam-no-wildcard-resources",
                           {"Effect": "Allow", "Action": "dynamodb:GetItem", "NotResource": TABLE_ARN})
    # Resource policies name their own resource; `*` there means "this resource".
    assert policy_messages("iam-no-wildcard-resources", allow("sqs:SendMessage", "*"),
                           type_="aws:sqs/queuePolicy:QueuePolicy") == []


@pytest.mark.parametrize("arn", ["arn:aws:iam::aws:policy/AdministratorAccess",
                                 "arn:aws:iam::aws:policy/AdministratorAccess-Amplify",
                                 "arn:aws:iam::aws:policy/PowerUserAccess",
                                 "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess",
                                 "arn:aws:iam::aws:policy/job-function/SystemAdministrator",
                                 "arn:aws-us-gov:iam::aws:policy/IAMFullAccess"])
def test_admin_like_managed_policies_fail(arn: str):
    [message] = messages("iam-no-admin-managed-policies", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                         {"policyArn": arn}, name="attach")
    assert "'attach'" in message and arn in message
    assert messages("iam-no-admin-managed-policies", ROLE, {"managedPolicyArns": [arn]})
    assert messages("iam-no-admin-managed-policies",
                    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", {"policyArns": [arn]})


@pytest.mark.parametrize("arn", ["arn:aws:iam::aws:policy/ReadOnlyAccess",
                                 "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                                 "arn:aws:iam::123456789012:policy/AdministratorAccess"])  # the account's own
def test_narrow_and_customer_managed_policies_pass(arn: str):
    assert messages("iam-no-admin-managed-policies", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    {"policyArn": arn}) == []


@pytest.mark.parametrize("principal", [{"Service": "lambda.amazonaws.com"},
                                       {"Service": ["states.amazonaws.com", "events.amazonaws.com"]}])
def test_service_principals_may_assume_roles(principal):
    assert messages("iam-trust-service-principal", ROLE, trust(principal)) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "arn:aws:iam::210987654321:root"}, {"Service": "*"},
                                       {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.example"},
                                       {"Service": "lambda.amazonaws.com", "AWS": "*"}, None])
def test_other_principals_may_not(principal):
    [message] = messages("iam-trust-service-principal", ROLE, trust(principal), name="fn-role")
    assert "'fn-role' may be assumed by" in message and "lambda.amazonaws.com" in message
    assert messages("iam-trust-service-principal", ROLE, trust(principal, effect="Deny")) == []
