"""Every IAM policy document parses, names no wildcard action, and uses a `*` resource only for actions AWS
does not let you scope (components.function.UNSCOPED_ACTIONS, each with its reason)."""

import json

from components.function import UNSCOPED_ACTIONS
from harness.program import ProgramRun


def policies(program: ProgramRun):
    for policy in program.of_type("aws:iam/rolePolicy:RolePolicy"):
        yield policy, json.loads(policy.inputs["policy"])


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_policies_have_no_wildcard_action_and_star_resources_only_where_unavoidable(program: ProgramRun):
    found = list(policies(program))
    assert len(found) >= 10
    for policy, document in found:
        assert document["Version"] == "2012-10-17"
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow", policy.name
            actions = as_list(statement["Action"])
            assert actions and all("*" not in action for action in actions), (policy.name, actions)
            resources = as_list(statement["Resource"])
            assert resources, policy.name
            if "*" in resources:
                assert resources == ["*"] and set(actions) <= set(UNSCOPED_ACTIONS), (policy.name, actions)
            else:
                assert all(r.startswith("arn:aws:") for r in resources), (policy.name, resources)


def test_unscoped_actions_each_have_a_reason():
    assert all(reason.strip() for reason in UNSCOPED_ACTIONS.values())


def test_trust_policies_name_one_service_principal(program: ProgramRun):
    for role in program.of_type("aws:iam/role:Role"):
        statements = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert len(statements) == 1
        service = statements[0]["Principal"]["Service"]
        assert service in ("lambda.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com",
                           "vpc-flow-logs.amazonaws.com", "scheduler.amazonaws.com", "apigateway.amazonaws.com")


def test_no_managed_policies_attached(program: ProgramRun):
    assert program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []


def test_one_role_per_function_writing_only_to_its_own_log_group(program: ProgramRun):
    functions = program.of_type("aws:lambda/function:Function")
    roles = [f.inputs["role"] for f in functions]
    assert len(set(roles)) == len(roles)
    role_names = {r.state["arn"]: r.state["name"] for r in program.of_type("aws:iam/role:Role")}
    log_groups = {g.state["name"]: g.state["arn"] for g in program.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for function in functions:
        own = log_groups[function.inputs["loggingConfig"]["logGroup"]] + ":log-stream:*"
        role_name = role_names[function.inputs["role"]]
        log_resources = [r for policy, document in policies(program) if policy.inputs["role"] == role_name
                         for s in document["Statement"] if any(a.startswith("logs:") for a in as_list(s["Action"]))
                         for r in as_list(s["Resource"])]
        assert log_resources == [own], function.name


def test_database_access_is_per_user(program: ProgramRun):
    connects = [(p.name, r) for p, d in policies(program) for s in d["Statement"]
                if "rds-db:connect" in s["Action"] for r in s["Resource"]]
    users = sorted(r.rsplit("/", 1)[1] for _, r in connects)
    assert users == ["cqrs_ops", "cqrs_projector"] + ["cqrs_reader"] * 3
    assert all(":dbuser:cluster-" in r for _, r in connects)
