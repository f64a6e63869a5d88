"""Privilege escalation: dangerous actions and combinations, even on named resources, across a role's policies."""

import pytest

from tests.policy.helpers import check, document, resource

ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
NAMED_ROLE = "arn:aws:iam::123456789012:role/other"


def role(*inline: dict) -> object:
    policies = [{"name": f"p{index}", "policy": document(s)} for index, s in enumerate(inline)]
    return resource(ROLE, {"inlinePolicies": policies}, name="app-role",
                    state={"name": "app-role-1a2b", "arn": "arn:aws:iam::123456789012:role/app-role-1a2b"})


def allow(*actions: str, resources=(NAMED_ROLE,)) -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


@pytest.mark.parametrize("action", ["iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion",
                                    "lambda:UpdateFunctionCode", "iam:CreateAccessKey", "IAM:putrolepolicy"])
def test_an_escalating_action_on_a_named_resource_is_reported_on_the_role(action):
    [violation] = check("iam-no-privilege-escalation", [role(allow(action))])
    assert violation.resource == "app-role" and "can escalate its privileges" in violation.message


def test_pass_role_counts_only_with_an_action_that_runs_the_passed_role():
    assert check("iam-no-privilege-escalation", [role(allow("iam:PassRole"))]) == []
    [violation] = check("iam-no-privilege-escalation", [role(allow("iam:PassRole"), allow("lambda:CreateFunction"))])
    assert "iam:PassRole with lambda:CreateFunction" in violation.message and "inline policy 'p0'" in violation.message
    wildcard = role(allow("iam:PassRole", "ec2:Run*"))  # wildcards match too (iam-no-wildcard-actions reports them)
    assert "iam:PassRole with ec2:RunInstances" in check("iam-no-privilege-escalation", [wildcard])[0].message
    denied = role({"Effect": "Deny", "Action": ["iam:PutRolePolicy"], "Resource": ["*"]})
    assert check("iam-no-privilege-escalation", [denied]) == []


def test_policies_attached_to_the_role_count_together():
    app = role(allow("iam:PassRole"))
    separate = resource(ROLE_POLICY, {"role": "app-role-1a2b", "policy": document(allow("lambda:CreateFunction"))},
                        name="extra")
    [violation] = check("iam-no-privilege-escalation", [app, separate])
    assert "RolePolicy 'extra'" in violation.message and "inline policy 'p0'" in violation.message
    managed = resource("aws:iam/policy:Policy", {"policy": document(allow("cloudformation:CreateStack"))},
                       name="managed", state={"arn": "arn:aws:iam::123456789012:policy/managed"})
    attachment = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                          {"role": "app-role-1a2b", "policyArn": "arn:aws:iam::123456789012:policy/managed"})
    [violation] = check("iam-no-privilege-escalation", [app, managed, attachment])
    assert "iam:PassRole with cloudformation:CreateStack" in violation.message


def test_the_programs_roles_cannot_escalate():
    from tests.policy.helpers import program_run

    for stack in ("dev", "prod"):
        assert check("iam-no-privilege-escalation", program_run(stack).resources) == []
