"""Typed, validated stack settings, read once from `pulumi.Config`.

Every setting is declared once in SETTINGS (key, parser, description); `Pulumi.yaml` declares the same keys with
their defaults, and a test keeps the two in step. A bad value stops the program with one message naming the key,
the value and what is allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable, Mapping

import pulumi

from components.api_settings import HTTP_API_AUTHORIZATIONS, api_authorization, jwt_audience, jwt_issuer
from components.setting_errors import SettingsError
from components.setting_errors import fail as _fail

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)
STATE_MACHINE_LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
# Aurora MySQL logs the stack may export to CloudWatch Logs (enabled_cloudwatch_logs_exports).
DB_LOG_TYPES = ("audit", "error", "slowquery")
# Aurora MySQL supports scaling to 0 ACU (auto-pause) from 3.08.0.
AUTO_PAUSE_MIN_ENGINE = (3, 8, 0)
_ENGINE_VERSION = re.compile(r"^8\.0\.mysql_aurora\.3\.(\d{2})\.(\d+)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")




def _boolean(key: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise _fail(key, raw, "expected true or false")


def _integer(low: int, high: int, *, extra: tuple[int, ...] = ()) -> Callable[[str, str], int]:
    def parse(key: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
        if value is not None and (low <= value <= high or value in extra):
            return value
        also = "".join(f" or {e}" for e in extra)
        raise _fail(key, raw, f"expected a whole number from {low} to {high}{also}")
    return parse


def _acu(key: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        value = None
    if value is not None and value.is_finite() and 0 <= value <= 256 and (value * 2) % 1 == 0:
        return value
    raise _fail(key, raw, "expected Aurora capacity units from 0 to 256 in steps of 0.5")


def _retention(key: str, raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value in LOG_RETENTION_DAYS:
        return value
    raise _fail(key, raw, f"expected a CloudWatch Logs retention in days, one of {', '.join(map(str, LOG_RETENTION_DAYS))}")


def _log_level(key: str, raw: str) -> str:
    if raw.strip() in STATE_MACHINE_LOG_LEVELS:
        return raw.strip()
    raise _fail(key, raw, f"expected one of {', '.join(STATE_MACHINE_LOG_LEVELS)}")


def _engine_version(key: str, raw: str) -> str:
    if _ENGINE_VERSION.match(raw.strip()):
        return raw.strip()
    raise _fail(key, raw, "expected an Aurora MySQL 3 version such as 8.0.mysql_aurora.3.08.2")


def _email(key: str, raw: str) -> str:
    if raw == "" or _EMAIL.match(raw):
        return raw
    raise _fail(key, raw, "expected an email address, or empty for no subscription")


def _vpc_id(key: str, raw: str) -> str:
    if raw == "" or _VPC_ID.match(raw):
        return raw
    raise _fail(key, raw, "expected a VPC id like vpc-0123456789abcdef0, or empty to create a VPC")


def _subnet_ids(key: str, raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw) if raw.strip() else []
    except json.JSONDecodeError:
        value = None
    if isinstance(value, list) and all(isinstance(s, str) and _SUBNET_ID.match(s) for s in value) \
            and len(set(value)) == len(value) and (not value or len(value) >= 2):
        return tuple(value)
    raise _fail(key, raw, "expected a list of at least two distinct subnet ids (subnet-...) in different AZs, "
                          "or an empty list to create them")


def _log_types(key: str, raw: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw) if raw.strip() else []
    except json.JSONDecodeError:
        value = None
    if isinstance(value, list) and all(v in DB_LOG_TYPES for v in value) and len(set(value)) == len(value):
        return tuple(sorted(value))
    raise _fail(key, raw, f"expected a JSON list of distinct log types among {', '.join(DB_LOG_TYPES)} "
                          "(an empty list exports none)")


_SCHEDULE = re.compile(r"^(rate\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$")


def _schedule(key: str, raw: str) -> str:
    match = _SCHEDULE.match(raw.strip())
    singular = match is not None and match.group(2) is not None and not match.group(3).endswith("s")
    if raw.strip() == "" or (match and (match.group(2) is None or (match.group(2) == "1") == singular)):
        return raw.strip()
    raise _fail(key, raw, "expected an EventBridge Scheduler expression such as rate(1 day) or cron(0 4 * * ? *), "
                          "or empty for none")


def _text(key: str, raw: str) -> str:
    return raw


@dataclass(frozen=True)
class Setting:
    key: str
    parse: Callable[[str, str], object]
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting("auroraEngineVersion", _engine_version, "Aurora MySQL engine version (3.08.0 or newer to pause at 0 ACU)"),
    Setting("auroraMinCapacity", _acu, "Aurora Serverless v2 minimum ACU (0 pauses the database when idle)"),
    Setting("auroraMaxCapacity", _acu, "Aurora Serverless v2 maximum ACU"),
    Setting("auroraSecondsUntilAutoPause", _integer(300, 86400), "idle seconds before Aurora pauses (min ACU 0 only)"),
    Setting("auroraReaderInstances", _integer(0, 15), "Aurora readers besides the writer: failover targets that "
                                                      "also serve the queries"),
    Setting("backupRetentionDays", _integer(1, 35), "Aurora automated backup retention in days"),
    Setting("deletionProtection", _boolean, "Aurora deletion protection"),
    Setting("skipFinalSnapshot", _boolean, "skip Aurora's final snapshot on delete"),
    Setting("dynamoPointInTimeRecovery", _boolean, "DynamoDB point-in-time recovery on the orders table"),
    Setting("dynamoDeletionProtection", _boolean, "DynamoDB deletion protection on the orders table"),
    Setting("lambdaLogRetentionDays", _retention, "retention of every function's log group (days)"),
    Setting("stateMachineLogRetentionDays", _retention, "retention of the state machine's log group (days)"),
    Setting("stateMachineLogLevel", _log_level, "state machine log level: ALL, ERROR, FATAL or OFF"),
    Setting("stateMachineIncludeExecutionData", _boolean, "log execution input and output (order data)"),
    Setting("dlqMessageRetentionSeconds", _integer(60, 1209600), "how long dead-letter queues keep messages"),
    Setting("alarmEmail", _email, "email subscribed to the alarm topic (empty: none)"),
    Setting("lambdaReservedConcurrency", _integer(1, 1000, extra=(-1,)),
            "reserved concurrency of each database function (-1: unreserved); caps Aurora connections"),
    Setting("projectorBatchSize", _integer(1, 1000), "stream records per projector invocation"),
    Setting("projectorMaxRetries", _integer(0, 10000), "retries of a failing stream batch before the on-failure queue"),
    Setting("projectorMaxRecordAgeSeconds", _integer(60, 604800), "oldest stream record the projector still retries"),
    Setting("vpcId", _vpc_id, "existing VPC to use (empty: create a private VPC)"),
    Setting("privateSubnetIds", _subnet_ids, "existing private subnets in two or more AZs (JSON list), with vpcId"),
    Setting("dbIdleSessionTimeoutSeconds", _integer(30, 86400),
            "seconds after which Aurora closes an idle session (wait_timeout and interactive_timeout); below "
            "auroraSecondsUntilAutoPause with auto-pause, since an open session keeps Aurora awake"),
    Setting("dbLogExports", _log_types,
            "Aurora logs exported to CloudWatch Logs (JSON list of audit, error, slowquery; audit logs connections "
            "and DDL/DCL of the stack's users): $0.50/GB ingested, $0.03/GB-month stored, nothing while paused"),
    Setting("dbLogRetentionDays", _retention, "retention of the exported Aurora logs (days)"),
    Setting("vpcFlowLogs", _boolean, "flow logs (all traffic) of the VPC the stack creates, to CloudWatch Logs: "
                                     "vended logs $0.50/GB ingested, $0.03/GB-month stored; none for an existing "
                                     "VPC"),
    Setting("vpcFlowLogRetentionDays", _retention, "retention of the VPC flow logs (days)"),
    Setting("dbCaBundlePath", _text, "path of the RDS CA bundle to verify the database certificate (empty: TLS "
                                     "without certificate verification)"),
    Setting("operatorDashboard", _boolean, "the operator's CloudWatch dashboard (ops: $3.00/month beyond the "
                                           "account's first 3 dashboards)"),
    Setting("reconcileSchedule", _schedule, "when a reconcile checks the read models against the orders table "
                                            "(an EventBridge Scheduler rate or cron; empty: never)"),
    Setting("httpApi", _boolean, "the HTTP API: synchronous answers from the same workflow (REST API, "
                                 "$3.50 per million requests, nothing when idle)"),
    Setting("httpApiAuthorization", api_authorization, "who may call the HTTP API: iam (SigV4-signed requests), jwt "
                                                        "(bearer tokens of httpApiJwtIssuer, checked by a Lambda "
                                                        "authorizer) or none (anonymous)"),
    Setting("httpApiJwtIssuer", jwt_issuer, "with jwt: the token issuer's https URL (its iss claim; the signing "
                                             "keys come from its OpenID discovery document)"),
    Setting("httpApiJwtAudience", jwt_audience, "with jwt: the audience the tokens must name (aud claim)"),
    Setting("httpApiThrottleRateLimit", _integer(1, 10000), "the HTTP API's steady request rate per second (the "
                                                             "stage's throttling)"),
    Setting("httpApiThrottleBurstLimit", _integer(1, 5000), "the HTTP API's burst of requests (the stage's "
                                                             "throttling)"),
    Setting("httpApiAccessLogRetentionDays", _retention, "retention of the HTTP API's access logs (days)"),
    Setting("httpApiAccountLogRole", _boolean, "this stack sets the account's API Gateway CloudWatch Logs role, "
                                               "which access logs need (one per account and region)"),
)


@dataclass(frozen=True)
class StackSettings:
    auroraEngineVersion: str
    auroraMinCapacity: Decimal
    auroraMaxCapacity: Decimal
    auroraSecondsUntilAutoPause: int
    auroraReaderInstances: int
    backupRetentionDays: int
    deletionProtection: bool
    skipFinalSnapshot: bool
    dynamoPointInTimeRecovery: bool
    dynamoDeletionProtection: bool
    lambdaLogRetentionDays: int
    stateMachineLogRetentionDays: int
    stateMachineLogLevel: str
    stateMachineIncludeExecutionData: bool
    dlqMessageRetentionSeconds: int
    alarmEmail: str
    lambdaReservedConcurrency: int
    projectorBatchSize: int
    projectorMaxRetries: int
    projectorMaxRecordAgeSeconds: int
    vpcId: str
    privateSubnetIds: tuple[str, ...]
    dbIdleSessionTimeoutSeconds: int
    dbLogExports: tuple[str, ...]
    dbLogRetentionDays: int
    vpcFlowLogs: bool
    vpcFlowLogRetentionDays: int
    dbCaBundlePath: str
    operatorDashboard: bool
    reconcileSchedule: str
    httpApi: bool
    httpApiAuthorization: str
    httpApiJwtIssuer: str
    httpApiJwtAudience: str
    httpApiThrottleRateLimit: int
    httpApiThrottleBurstLimit: int
    httpApiAccessLogRetentionDays: int
    httpApiAccountLogRole: bool

    @property
    def auto_pause(self) -> bool:
        return self.auroraMinCapacity == 0


def parse_settings(raw: Mapping[str, str | None]) -> StackSettings:
    """Validate raw config strings (every key required: Pulumi.yaml supplies the defaults)."""
    values: dict[str, object] = {}
    for setting in SETTINGS:
        text = raw.get(setting.key)
        if text is None:
            raise SettingsError(f"missing setting cqrs-orders:{setting.key}: {setting.description}; "
                                "declare it in Pulumi.yaml or set it with `pulumi config set`")
        values[setting.key] = setting.parse(setting.key, text)
    settings = StackSettings(**values)
    _check_together(settings)
    return settings


def _check_together(s: StackSettings) -> None:
    if s.auroraMaxCapacity < 1:
        raise _fail("auroraMaxCapacity", str(s.auroraMaxCapacity), "expected at least 1 ACU")
    if s.auroraMinCapacity > s.auroraMaxCapacity:
        raise _fail("auroraMinCapacity", str(s.auroraMinCapacity),
                    f"expected at most auroraMaxCapacity ({s.auroraMaxCapacity})")
    minor, patch = map(int, _ENGINE_VERSION.match(s.auroraEngineVersion).groups())
    if s.auto_pause and (3, minor, patch) < AUTO_PAUSE_MIN_ENGINE:
        raise _fail("auroraEngineVersion", s.auroraEngineVersion,
                    "auroraMinCapacity 0 (auto-pause) needs 8.0.mysql_aurora.3.08.0 or newer")
    if bool(s.vpcId) != bool(s.privateSubnetIds):
        key, value = ("privateSubnetIds", list(s.privateSubnetIds)) if s.vpcId else ("vpcId", s.vpcId)
        raise _fail(key, value, "vpcId and privateSubnetIds go together: set both or neither")
    if s.auto_pause and s.dbIdleSessionTimeoutSeconds >= s.auroraSecondsUntilAutoPause:
        raise _fail("dbIdleSessionTimeoutSeconds", str(s.dbIdleSessionTimeoutSeconds),
                    f"expected a whole number from 30 to {s.auroraSecondsUntilAutoPause - 1} (below "
                    "auroraSecondsUntilAutoPause: an idle session left open keeps Aurora from pausing)")
    for key, value in (("httpApiJwtIssuer", s.httpApiJwtIssuer), ("httpApiJwtAudience", s.httpApiJwtAudience)):
        if s.httpApiAuthorization == "jwt" and not value:
            raise _fail(key, value, "required with httpApiAuthorization jwt")
        if s.httpApiAuthorization != "jwt" and value:
            raise _fail(key, value, f"only with httpApiAuthorization jwt (it is {s.httpApiAuthorization}): set "
                                    "that, or leave this empty")
    if s.skipFinalSnapshot and s.deletionProtection:
        raise _fail("skipFinalSnapshot", "true", "a deletion-protected stack keeps its final snapshot: set false")


def load_settings(config: pulumi.Config | None = None) -> StackSettings:
    """Read every setting once from the stack's configuration."""
    config = config or pulumi.Config("cqrs-orders")
    return parse_settings({s.key: config.get(s.key) for s in SETTINGS})
