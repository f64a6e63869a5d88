"""Aurora in operation (IAM authentication, minor upgrades, final snapshot, failover reader), deprecated platforms,
database functions' concurrency, log groups the services write to, dead-letter retention, schedule retries."""

import pytest

from tests.policy.helpers import check, messages, program_run, resource

CLUSTER, INSTANCE = "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance"
FUNCTION, LOG_GROUP = "aws:lambda/function:Function", "aws:cloudwatch/logGroup:LogGroup"
DB_FUNCTION = {"environment": {"variables": {"DB_HOST": "db.internal"}}}


def test_aurora_authentication_upgrades_and_final_snapshot():
    assert messages("aurora-iam-authentication", CLUSTER, {"iamDatabaseAuthenticationEnabled": True}) == []
    assert "iam_database_authentication_enabled=True" in messages("aurora-iam-authentication", CLUSTER, {})[0]
    assert messages("aurora-auto-minor-version-upgrade", INSTANCE, {}) == []  # the provider's default is true
    assert messages("aurora-auto-minor-version-upgrade", "aws:rds/instance:Instance",
                    {"autoMinorVersionUpgrade": False})
    kept = {"skipFinalSnapshot": False, "finalSnapshotIdentifier": "orders-final"}
    assert messages("aurora-final-snapshot", CLUSTER, kept) == []
    assert messages("aurora-final-snapshot", CLUSTER, {"skipFinalSnapshot": False})  # no identifier: AWS refuses
    assert messages("aurora-final-snapshot", CLUSTER, {"skipFinalSnapshot": True}, config={"required": False}) == []


def members(*tiers: float) -> list:
    cluster = resource(CLUSTER, {}, name="db", state={"clusterIdentifier": "db-1a"})
    return [cluster, *(resource(INSTANCE, {"clusterIdentifier": "db-1a", "promotionTier": tier}, name=f"i{n}")
                       for n, tier in enumerate(tiers))]


def test_a_failover_reader_in_a_scaling_tier():
    assert check("aurora-failover-reader", members(0, 1)) == []
    [alone] = check("aurora-failover-reader", members(0))
    assert alone.resource == "db" and "1 instance(s), no failover reader" in alone.message
    [cold] = check("aurora-failover-reader", members(0, 15))
    assert "promotion tier 15" in cold.message
    assert check("aurora-failover-reader", members(0), {"required": False}) == []


@pytest.mark.parametrize("runtime, deprecated", [("python3.12", False), ("python3.14", False), ("python3.9", True),
                                                 ("nodejs18.x", True), ("java8", True), ("provided.al2023", False)])
def test_deprecated_lambda_runtimes(runtime, deprecated):
    found = messages("lambda-runtime-supported", FUNCTION, {"runtime": runtime}, name="fn")
    assert bool(found) == deprecated
    if deprecated:
        assert f"runs on {runtime}, deprecated since 20" in found[0]


def test_deprecated_aurora_engines():
    assert messages("aurora-engine-supported", CLUSTER,
                    {"engine": "aurora-mysql", "engineVersion": "8.0.mysql_aurora.3.08.2"}) == []
    assert messages("aurora-engine-supported", CLUSTER, {"engine": "aurora-postgresql", "engineVersion": "12.22"})
    assert messages("aurora-engine-supported", CLUSTER, {"engine": "aurora-postgresql", "engineVersion": "16.4"}) == []


def test_database_functions_cap_their_concurrency():
    [unreserved] = messages("lambda-database-reserved-concurrency", FUNCTION, DB_FUNCTION, name="fn")
    assert "reserves no concurrency" in unreserved and "between 1 and 100" in unreserved
    [many] = messages("lambda-database-reserved-concurrency", FUNCTION,
                      {**DB_FUNCTION, "reservedConcurrentExecutions": 500.0})
    assert "up to 500 database connections" in many
    assert messages("lambda-database-reserved-concurrency", FUNCTION,
                    {**DB_FUNCTION, "reservedConcurrentExecutions": 50.0}) == []
    assert messages("lambda-database-reserved-concurrency", FUNCTION, {}) == []  # no database
    assert messages("lambda-database-reserved-concurrency", FUNCTION, DB_FUNCTION, config={"required": False}) == []


def test_log_groups_written_by_services_are_the_stacks():
    group = resource(LOG_GROUP, {"retentionInDays": 7}, name="fn-logs", state={"name": "/aws/lambda/fn-1a"})
    named = resource(FUNCTION, {"loggingConfig": {"logGroup": "/aws/lambda/fn-1a"}}, name="fn", state={"name": "x"})
    assert check("log-groups-in-stack", [group, named]) == []
    default = resource(FUNCTION, {}, name="fn", state={"name": "fn-1a"})
    assert check("log-groups-in-stack", [group, default]) == []  # its default group is the stack's
    [violation] = check("log-groups-in-stack", [resource(FUNCTION, {}, name="fn", state={"name": "fn-2b"})])
    assert violation.resource == "fn" and "'/aws/lambda/fn-2b'" in violation.message
    cluster = resource(CLUSTER, {"enabledCloudwatchLogsExports": ["audit"]}, name="db",
                       state={"clusterIdentifier": "db-1a"})
    [violation] = check("log-groups-in-stack", [cluster])
    assert "'/aws/rds/cluster/db-1a/audit'" in violation.message


def test_dead_letter_queues_keep_messages_long_enough():
    arn = "arn:aws:sqs:us-east-1:123456789012:dlq"
    target = resource("aws:cloudwatch/eventTarget:EventTarget", {"deadLetterConfig": {"arn": arn}})

    def queue(seconds):
        props = {"messageRetentionSeconds": seconds} if seconds else {}
        return resource("aws:sqs/queue:Queue", props, name="dlq", state={**props, "arn": arn})

    assert check("sqs-dead-letter-retention", [target, queue(1209600.0)], {"minimumSeconds": 1209600}) == []
    [violation] = check("sqs-dead-letter-retention", [target, queue(None)], {"minimumSeconds": 1209600})
    assert violation.resource == "dlq" and "345600 s" in violation.message  # SQS's default
    assert check("sqs-dead-letter-retention", [queue(60.0)]) == []  # not a dead-letter queue


def test_schedules_set_their_retry_policy():
    schedule = "aws:scheduler/schedule:Schedule"
    [message] = messages("eventbridge-target-retry-policy", schedule, {"target": {"arn": "arn:x"}}, name="daily")
    assert message.startswith("schedule 'daily': target has no retry policy")
    retrying = {"target": {"retryPolicy": {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 3600}}}
    assert messages("eventbridge-target-retry-policy", schedule, retrying) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_program_passes_the_operations_rules(stack):
    resources = program_run(stack).resources
    for policy in ("aurora-iam-authentication", "aurora-auto-minor-version-upgrade", "lambda-runtime-supported",
                   "aurora-engine-supported", "log-groups-in-stack", "state-machines-failure-alarmed",
                   "stream-consumers-lag-alarmed"):
        assert check(policy, resources) == [], policy
