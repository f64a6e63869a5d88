"""The offline evaluation repeats what the engine does with pack config, props and policy outcomes."""

import pytest
from pulumi.runtime.rpc import wrap_rpc_secret
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from policy.offline import ConfigError, PolicySettings, evaluate, resolve_config
from policy.rules import POLICIES
from tests.policy.helpers import BY_NAME, check, resource

FUNCTION = "aws:lambda/function:Function"


def test_schema_defaults_sit_under_the_files_values():
    settings = resolve_config(POLICIES, {"log-group-retention": {"maximumDays": 731}}, "config.json")
    assert settings["log-group-retention"] == PolicySettings(EnforcementLevel.MANDATORY,
                                                             {"minimumDays": 7, "maximumDays": 731})
    assert settings["lambda-tracing"] == PolicySettings(EnforcementLevel.MANDATORY, {})


def test_enforcement_levels_from_the_file():
    settings = resolve_config(POLICIES, {"all": "advisory", "lambda-tracing": "disabled",
                                         "aurora-max-capacity": {"enforcementLevel": "mandatory", "maximumAcu": 8}},
                              "config.json")
    assert settings["dynamodb-encryption"].level is EnforcementLevel.ADVISORY
    assert settings["lambda-tracing"].level is EnforcementLevel.DISABLED
    assert settings["aurora-max-capacity"] == PolicySettings(EnforcementLevel.MANDATORY, {"maximumAcu": 8})


@pytest.mark.parametrize("file_config, error", [
    ({"lambda-tracin": "advisory"}, "config.json: no such policies ['lambda-tracin']"),
    ({"log-group-retention": {"minDays": 1}}, "log-group-retention has no setting 'minDays' (settings: minimumDays, "
                                              "maximumDays)"),
    ({"log-group-retention": {"minimumDays": "7"}}, "log-group-retention.minimumDays = '7' is not of type integer"),
    ({"aurora-deletion-protection": {"required": 1}}, "aurora-deletion-protection.required = 1 is not of type boolean"),
    ({"aurora-backup-retention": {"minimumDays": 0}}, "minimumDays = 0 is below the minimum 1"),
    ({"aurora-max-capacity": {"maximumAcu": 512}}, "maximumAcu = 512 is above the maximum 256"),
    ({"all": "strict"}, "all: enforcement level 'strict' is not one of advisory, mandatory, remediate, disabled"),
    ({"lambda-tracing": ["advisory"]}, "lambda-tracing must be an enforcement level or an object"),
])
def test_config_errors_are_one_line_naming_the_problem(file_config, error):
    with pytest.raises(ConfigError) as raised:
        resolve_config(POLICIES, file_config, "config.json")
    assert error in str(raised.value) and "\n" not in str(raised.value)


def test_disabled_policies_do_not_run_and_remediate_reports_as_mandatory():
    untraced = [resource(FUNCTION, {"tracingConfig": {"mode": "PassThrough"}})]
    tracing = [BY_NAME["lambda-tracing"]]
    assert evaluate(untraced, tracing, {"lambda-tracing": PolicySettings(EnforcementLevel.DISABLED, {})}) == []
    [violation] = evaluate(untraced, tracing, {"lambda-tracing": PolicySettings(EnforcementLevel.REMEDIATE, {})})
    assert violation.level == "mandatory"


def test_secrets_reach_policies_unwrapped():
    """Program inputs marked secret arrive wrapped from the mock runtime; the engine hands policies the value."""
    secret_env = {"environment": {"variables": {"DB_PASSWORD": wrap_rpc_secret("hunter2")}}}
    assert check("lambda-no-secret-environment", [resource(FUNCTION, secret_env)])


def test_stack_policies_see_outputs_over_inputs_parents_and_dependencies():
    seen = {}

    def record(args, report_violation):
        seen.update({r.name: r for r in args.resources})

    parent = resource("cqrs:index:Component", {}, name="component")
    child = resource(FUNCTION, {"handler": "h"}, name="child", state={"handler": "h", "name": "child-123"},
                     parent=parent.urn, dependencies=(parent.urn,))
    policy = StackValidationPolicy("record", "Records the stack.", record, EnforcementLevel.MANDATORY)
    evaluate([parent, child], [policy], {"record": PolicySettings(EnforcementLevel.MANDATORY, {})})
    assert dict(seen["child"].props) == {"handler": "h", "name": "child-123"}
    assert seen["child"].parent is seen["component"] and seen["child"].dependencies == [seen["component"]]
    assert seen["child"].opts.parent == parent.urn


def test_not_applicable_is_no_violation_and_async_validations_are_awaited():
    def not_applicable(args, report_violation):
        args.not_applicable("functions only")

    async def asynchronous(args, report_violation):
        report_violation("async")

    policies = [ResourceValidationPolicy("skip", "Skips.", not_applicable, EnforcementLevel.MANDATORY),
                ResourceValidationPolicy("later", "Reports later.", asynchronous, EnforcementLevel.ADVISORY)]
    settings = {p.name: PolicySettings(p.enforcement_level, {}) for p in policies}
    [violation] = evaluate([resource(FUNCTION, {})], policies, settings)
    assert (violation.policy, violation.level, violation.message) == ("later", "advisory", "async")
