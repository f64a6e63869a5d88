"""Lambda functions: an explicit timeout, JSON logs, tracing, the VPC and a concurrency cap for database functions, no
secrets in the environment."""

import re

from pulumi_policy.proxy import UnknownValueError

from .support import get, is_set, keys, resource_policy

FUNCTION = "aws:lambda/function:Function"

# A function that reaches the database is told where it is through this environment variable.
DATABASE_HOST_VARIABLE = "DB_HOST"

DEFAULT_TIMEOUT = 3  # seconds, what the provider sets when a function sets none

# Words (or adjacent word pairs, joined) of a variable name that say its value is a secret.
SECRET_TERMS = {"password", "passwd", "passphrase", "pass", "pwd", "secret", "token", "credential", "credentials",
                "apikey", "privatekey", "accesskey", "secretkey", "signingkey", "clientsecret"}
# A name ending in KEY (STRIPE_KEY, HMAC_KEY, SESSION_KEY, ...) names a secret, unless the word before says it is a
# key of another kind: a table's or an object's key, a cache key, a public key, a KMS key (named by id or alias).
NON_SECRET_KEYS = {"partition", "sort", "hash", "range", "primary", "object", "s3", "cache", "public", "kms"}
# Names ending in KEY_ID or KEY_ARN (SIGNING_KEY_ID, API_KEY_ARN) identify a key, they do not hold one.
KEY_IDENTIFIERS = (["key", "id"], ["key", "arn"])
# Values that are secrets whatever the variable is called: AWS access key ids, PEM and PGP private keys, JWTs
# (their claims are readable and a valid one is a bearer credential), GitHub tokens, Stripe live secret keys.
SECRET_VALUES = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY[A-Z ]*-----"
                           r"|\beyJ[\w-]+\.eyJ[\w-]+\.|\bgh[pousr]_[A-Za-z0-9]{36}\b|\b[rs]k_live_[A-Za-z0-9]{16,}")
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


@resource_policy("lambda-timeout",
                 f"Lambda functions set their timeout instead of relying on the {DEFAULT_TIMEOUT} s default.",
                 {FUNCTION})
def timeout(args, report_violation):
    # The provider fills in its default when timeout is unset, and the engine hides the keys that would say so
    # (__defaults), so the policy cannot tell an explicit 3 from the default: both count as not set.
    try:
        seconds = get(args.props, "timeout")
    except UnknownValueError:
        return  # computed from another resource: set explicitly
    if seconds is None or seconds == DEFAULT_TIMEOUT:
        report_violation(f"Lambda function '{args.name}' runs with the provider's default timeout "
                         f"({DEFAULT_TIMEOUT} s, which this policy cannot tell from an explicit {DEFAULT_TIMEOUT}): "
                         "set an explicit timeout, the longest an invocation may legitimately take.")


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


@resource_policy("lambda-database-reserved-concurrency",
                 f"Lambda functions that reach the database ({DATABASE_HOST_VARIABLE} set) reserve a concurrency "
                 "between 1 and the configured maximum, which caps their database connections, where the pack config "
                 "requires it.", {FUNCTION},
                 config={"required": {"type": "boolean", "default": True,
                                      "description": "require it (prod-grade stacks); false turns the rule off"},
                         "maximum": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100,
                                     "description": "highest reserved concurrency of a database function"}})
def database_reserved_concurrency(args, report_violation):
    config = args.get_config()
    if not config["required"] or DATABASE_HOST_VARIABLE not in keys(get(args.props, "environment", "variables")):
        return
    reserved = get(args.props, "reservedConcurrentExecutions")
    if reserved is None or not 1 <= reserved <= config["maximum"]:
        problem = ("reserves no concurrency, so its database connections are not capped" if reserved in (None, -1)
                   else f"reserves {reserved:g} concurrent executions, so up to {reserved:g} database connections")
        report_violation(f"Lambda function '{args.name}' {problem}: set reserved_concurrent_executions between 1 and "
                         f"{config['maximum']} (lambdaReservedConcurrency).")


def secret_named(name: str) -> bool:
    words = [w.lower() for w in _WORDS.findall(name)]
    if words[-2:] in KEY_IDENTIFIERS:
        return False
    if words[-1:] == ["key"] and (len(words) == 1 or words[-2] not in NON_SECRET_KEYS):
        return True
    return any(term in SECRET_TERMS for term in words + [a + b for a, b in zip(words, words[1:])])


@resource_policy("lambda-no-secret-environment",
                 "No Lambda environment variable holds a secret: a variable named like a secret (password, token, "
                 "a name ending in KEY, ...) may only hold an ARN (of a Secrets Manager secret, an SSM parameter, "
                 "...), and no value may look like an access key, a private key, a JWT or a known token format. "
                 "Anyone who can read the function's configuration reads its environment, and it sits in state.",
                 {FUNCTION})
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


POLICIES = [timeout, json_logs, tracing, database_in_vpc, database_reserved_concurrency, no_secret_environment]
