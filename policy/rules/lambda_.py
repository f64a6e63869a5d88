"""Lambda functions: an explicit timeout, JSON logs, tracing, the VPC for database functions, no secrets in the
environment."""

import re

from pulumi_policy.proxy import UnknownValueError

from .support import as_list, get, is_set, keys, resource_policy

FUNCTION = "aws:lambda/function:Function"

# A function that reaches the database is told where it is through this environment variable.
DATABASE_HOST_VARIABLE = "DB_HOST"

# Words (or adjacent word pairs, joined) of a variable name that say its value is a secret.
SECRET_TERMS = {"password", "passwd", "passphrase", "pass", "pwd", "secret", "token", "credential", "credentials",
                "apikey", "privatekey", "accesskey", "secretkey", "signingkey", "clientsecret"}
# Values that are secrets whatever the variable is called: AWS access key ids and PEM private keys.
SECRET_VALUES = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


@resource_policy("lambda-timeout",
                 "Lambda functions set their timeout instead of relying on the 3 s default.", {FUNCTION})
def timeout(args, report_violation):
    # The provider fills in its default during Check and lists the key in __defaults.
    if get(args.props, "timeout") is None or "timeout" in as_list(get(args.props, "__defaults")):
        report_violation(f"Lambda function '{args.name}' has no explicit timeout: set timeout to the longest an "
                         "invocation may legitimately take.")


@resource_policy("lambda-json-logs", "Lambda functions log in JSON, so logs can be queried by field.", {FUNCTION})
def json_logs(args, report_violation):
    if get(args.props, "loggingConfig", "logFormat") != "JSON":
        report_violation(f"Lambda function '{args.name}' does not log JSON: set logging_config={{'log_format': "
                         "'JSON', ...}.")


@resource_policy("lambda-tracing", "Lambda functions trace with X-Ray (active tracing).", {FUNCTION})
def tracing(args, report_violation):
    if get(args.props, "tracingConfig", "mode") != "Active":
        report_violation(f"Lambda function '{args.name}' is not traced: set tracing_config={{'mode': 'Active'}}.")


@resource_policy("lambda-database-in-vpc",
                 f"Lambda functions that reach the database (their environment sets {DATABASE_HOST_VARIABLE}) run "
                 "in the VPC (subnets and security groups set).", {FUNCTION})
def database_in_vpc(args, report_violation):
    if DATABASE_HOST_VARIABLE not in keys(get(args.props, "environment", "variables")):
        return
    if not (is_set(args.props, "vpcConfig", "subnetIds") and is_set(args.props, "vpcConfig", "securityGroupIds")):
        report_violation(f"Lambda function '{args.name}' reaches the database ({DATABASE_HOST_VARIABLE} is set) "
                         "outside the VPC: set vpc_config with the private subnets and the functions' security "
                         "group.")


def secret_named(name: str) -> bool:
    words = [w.lower() for w in _WORDS.findall(name)]
    return any(term in SECRET_TERMS for term in words + [a + b for a, b in zip(words, words[1:])])


@resource_policy("lambda-no-secret-environment",
                 "No Lambda environment variable holds a secret: a variable named like a secret (password, token, "
                 "api key, ...) may only hold an ARN (of a Secrets Manager secret, an SSM parameter, ...), and no "
                 "value may look like an access key or a private key. Anyone who can read the function's "
                 "configuration reads its environment, and it sits in state.", {FUNCTION})
def no_secret_environment(args, report_violation):
    variables = get(args.props, "environment", "variables")
    for name in keys(variables):
        try:
            value = variables[name]
        except UnknownValueError:
            continue  # an output of another resource: no literal here, and `pulumi up` checks the resolved value
        if not isinstance(value, str) or not value:
            continue
        if SECRET_VALUES.search(value) or (secret_named(name) and not value.startswith("arn:")):
            report_violation(f"Lambda function '{args.name}' has a secret in environment variable {name}: store it "
                             "in Secrets Manager, pass the secret's ARN instead and read the value at run time.")


POLICIES = [timeout, json_logs, tracing, database_in_vpc, no_secret_environment]
