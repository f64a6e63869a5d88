"""Privilege escalation: no role of the stack may grant itself (or take) more than its policies say, even when the
dangerous actions name exact resources, since the resource they name is what is taken over (another role's policy,
another function's code) or passed (a role to new compute)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from .policy_documents import actions, allowed, parse_statements
from .support import as_list, get, label, stack_policy

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

# Actions that escalate on their own: they rewrite what a principal may do, mint credentials for another principal,
# or run new code with another function's role.
ESCALATING_ACTIONS = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachRolePolicy",
                      "iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy",
                      "iam:PutGroupPolicy", "iam:UpdateAssumeRolePolicy", "iam:AddUserToGroup",
                      "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
                      "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "glue:UpdateDevEndpoint")
# With iam:PassRole, each of these starts compute that runs as the passed role.
PASS_ROLE = "iam:PassRole"
RUNS_PASSED_ROLE = ("lambda:CreateFunction", "ec2:RunInstances", "ecs:RunTask", "ecs:StartTask",
                    "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:CreateChangeSet",
                    "glue:CreateDevEndpoint", "glue:CreateJob", "datapipeline:CreatePipeline",
                    "sagemaker:CreateNotebookInstance", "sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
                    "codebuild:CreateProject", "states:CreateStateMachine", "autoscaling:CreateLaunchConfiguration",
                    "ec2:RequestSpotInstances", "apprunner:CreateService", "batch:SubmitJob")


def _grants(patterns: set[str], action: str) -> bool:
    """Whether an allowed action (IAM matches case-insensitively, `*` and `?` as wildcards) covers `action`."""
    return any(fnmatchcase(action.lower(), pattern) for pattern in patterns)


def escalations(granted: set[str]) -> list[str]:
    """The escalation paths that the allowed actions (lower case) open."""
    found = [action for action in ESCALATING_ACTIONS if _grants(granted, action)]
    if _grants(granted, PASS_ROLE):
        found += [f"{PASS_ROLE} with {action}" for action in RUNS_PASSED_ROLE if _grants(granted, action)]
    return found


def _documents_by_role(resources) -> dict:
    """Role URN -> (role, [(label of the policy, document text)]) for its inline and attached policies."""
    roles = {r.urn: (r, []) for r in resources if r.resource_type == ROLE}
    by_name = {get(r.props, key): urn for urn, (r, _) in roles.items() for key in ("name", "arn")}
    managed = {get(r.props, "arn"): r for r in resources if r.resource_type == MANAGED_POLICY}
    for role, documents in roles.values():
        documents += [(f"inline policy '{get(p, 'name')}'", get(p, "policy"))
                      for p in as_list(get(role.props, "inlinePolicies"))]
    for resource in resources:
        urn = by_name.get(get(resource.props, "role")) if resource.resource_type in (
            ROLE_POLICY, ROLE_POLICY_ATTACHMENT) else None
        if urn is None:
            continue
        if resource.resource_type == ROLE_POLICY:
            roles[urn][1].append((label(ROLE_POLICY, resource.name), get(resource.props, "policy")))
        elif get(resource.props, "policyArn") in managed:
            policy = managed[get(resource.props, "policyArn")]
            roles[urn][1].append((label(MANAGED_POLICY, policy.name), get(policy.props, "policy")))
    return roles


@stack_policy("iam-no-privilege-escalation",
              "No role can escalate its privileges: none is allowed an action that rewrites permissions, mints "
              "credentials or replaces a function's code (iam:PutRolePolicy, iam:AttachRolePolicy, "
              "iam:CreatePolicyVersion, lambda:UpdateFunctionCode, ...), nor iam:PassRole together with an action "
              "that starts compute as the passed role (lambda:CreateFunction, ec2:RunInstances, ...), whatever "
              "resources they name; the policies of a role (inline, RolePolicy, attached) count together.")
def no_privilege_escalation(args, report_violation):
    for role, documents in _documents_by_role(args.resources).values():
        granted: dict[str, str] = {}  # allowed action (lower case) -> the policy that allows it
        for where, text in documents:
            for statement in allowed(parse_statements(text) or []):
                for action in actions(statement):
                    granted.setdefault(action.lower(), where)
        found = escalations(set(granted))
        if found:
            sources = sorted({where for pattern, where in granted.items()
                              if any(_grants({pattern}, a) for path in found for a in path.split(" with "))})
            report_violation(f"IAM role '{role.name}' can escalate its privileges through {'; '.join(found)} "
                             f"(in {', '.join(sources)}): remove these actions from its policies; deploying code "
                             "or roles belongs to the deployment pipeline's role, outside the stack.", role.urn)


POLICIES = [no_privilege_escalation]
