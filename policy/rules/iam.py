"""IAM: no wildcard actions, `*` resources only for unscopable actions, no admin-like AWS managed policies, trust
policies that name a service principal."""

import json

from .policy_documents import allowed, parse_statements
from .support import as_list, get, label, resource_policy
from .unscoped_actions import UNSCOPED_ACTIONS

ROLE = "aws:iam/role:Role"
# Resources whose `policy` prop is a JSON policy document. Identity policies say what a principal may do; resource
# policies say who may act on a resource (a wildcard action there is as broad as in an identity policy).
IDENTITY_POLICIES = {"aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                     "aws:iam/groupPolicy:GroupPolicy"}
RESOURCE_POLICIES = {"aws:sqs/queuePolicy:QueuePolicy", "aws:sns/topicPolicy:TopicPolicy",
                     "aws:s3/bucketPolicy:BucketPolicy"}
# Resources that attach managed policies. type -> the prop holding one ARN or a list of them.
ATTACHMENTS = {"aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
               "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
               "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
               "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
               "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
               "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
               "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
               ROLE: "managedPolicyArns"}
# IAM action names are case-insensitive.
_UNSCOPED = {action.lower() for action in UNSCOPED_ACTIONS}


def _documents(args):
    """(where, JSON text) of each policy document the resource holds (a role: its inline policies)."""
    if args.resource_type in IDENTITY_POLICIES | RESOURCE_POLICIES:
        yield "its policy", get(args.props, "policy")
    if args.resource_type == ROLE:
        for inline in as_list(get(args.props, "inlinePolicies")):
            yield f"inline policy '{get(inline, 'name')}'", get(inline, "policy")


def _allow_statements(args, report_violation, documents):
    """(where, statement) of each Allow statement; a document that does not parse is a violation (fail closed)."""
    for where, text in documents:
        statements = parse_statements(text)
        if statements is None:
            report_violation(f"{label(args.resource_type, args.name)}: {where} is not an IAM policy document with a "
                             "Statement, so it cannot be checked: fix the JSON.")
            continue
        for statement in allowed(statements):
            yield where, statement


@resource_policy("iam-no-wildcard-actions",
                 "IAM policy documents (identity policies, and SQS/SNS/S3 resource policies) allow named actions "
                 "only: no `*` in an action, no NotAction.", IDENTITY_POLICIES | RESOURCE_POLICIES | {ROLE})
def no_wildcard_actions(args, report_violation):
    subject = label(args.resource_type, args.name)
    for where, statement in _allow_statements(args, report_violation, _documents(args)):
        if "NotAction" in statement:
            report_violation(f"{subject}: {where} allows NotAction, i.e. every other action: list the actions.")
        wildcards = [a for a in as_list(statement.get("Action")) if "*" in a]
        if wildcards:
            report_violation(f"{subject}: {where} allows wildcard actions {wildcards}: list the exact actions.")


@resource_policy("iam-no-wildcard-resources",
                 "IAM identity policies name resource ARNs; `*` only for actions AWS does not let you scope (Lambda "
                 "VPC network interfaces, X-Ray, log delivery: policy/rules/unscoped_actions.py), no NotResource.",
                 IDENTITY_POLICIES | {ROLE})
def no_wildcard_resources(args, report_violation):
    subject = label(args.resource_type, args.name)
    for where, statement in _allow_statements(args, report_violation, _documents(args)):
        if "NotResource" in statement:
            report_violation(f"{subject}: {where} allows NotResource, i.e. every other resource: list the ARNs.")
        if "*" in as_list(statement.get("Resource")):
            scopable = [a for a in as_list(statement.get("Action")) if a.lower() not in _UNSCOPED]
            if scopable:
                report_violation(f"{subject}: {where} allows {scopable} on every resource ('*'): name the ARNs "
                                 "they act on; only actions AWS cannot scope may use '*'.")


def admin_like(arn: str) -> bool:
    """An AWS managed policy that grants administration of the account or of a whole service."""
    prefix, _, name = arn.rpartition("/")
    return (prefix.startswith("arn:aws") and ":iam::aws:policy" in prefix and
            (name.startswith("AdministratorAccess") or name == "PowerUserAccess" or name.endswith("FullAccess")
             or name.endswith("Administrator")))


@resource_policy("iam-no-admin-managed-policies",
                 "No AWS managed admin-like policy (AdministratorAccess*, PowerUserAccess, *FullAccess, "
                 "job-function/*Administrator) is attached.", set(ATTACHMENTS))
def no_admin_managed_policies(args, report_violation):
    for arn in as_list(get(args.props, ATTACHMENTS[args.resource_type])):
        if admin_like(arn):
            report_violation(f"{label(args.resource_type, args.name)} attaches {arn}: grant the exact actions on "
                             "the exact resources in a policy of your own instead.")


@resource_policy("iam-trust-service-principal",
                 "IAM role trust policies let only AWS service principals assume the role.", {ROLE})
def trust_service_principal(args, report_violation):
    documents = [("its trust policy", get(args.props, "assumeRolePolicy"))]
    for _, statement in _allow_statements(args, report_violation, documents):
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if not (isinstance(principal, dict) and set(principal) == {"Service"} and services
                and all(isinstance(s, str) and "*" not in s and s.endswith((".amazonaws.com", ".amazonaws.com.cn"))
                        for s in services)):
            report_violation(f"IAM role '{args.name}' may be assumed by {json.dumps(principal)}: trust only a "
                             "service, e.g. Principal={'Service': 'lambda.amazonaws.com'}.")


POLICIES = [no_wildcard_actions, no_wildcard_resources, no_admin_managed_policies, trust_service_principal]
