"""Aurora: encrypted, managed master password, backups, deletion protection, private instances, TLS, an ACU cap,
exported logs with an audit trail, and idle sessions closed before auto-pause."""

from .support import ADVISORY, as_list, depends_on, get, is_set, label, resource_policy, stack_policy

CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
INSTANCE = "aws:rds/instance:Instance"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REQUIRED = {"type": "boolean", "default": True,
            "description": "require it (prod-grade stacks); false turns the rule off"}

# Password inputs of RDS, DocumentDB, Neptune, ... clusters: a value here sits in config and in state.
PASSWORD_PROPS = ("masterPassword", "masterPasswordWo")
# engine -> (cluster parameter that rejects unencrypted connections, the value to set, values that mean "on")
TLS_PARAMETERS = {"aurora-mysql": ("require_secure_transport", "ON", {"on", "1"}),
                  "aurora-postgresql": ("rds.force_ssl", "1", {"1"})}
# Aurora MySQL logs a cluster must export to CloudWatch Logs, and the audit events it must record (QUERY records
# every statement, so it covers the DDL and DCL ones).
MYSQL_LOG_EXPORTS = ("audit", "error", "slowquery")
AUDIT_EVENTS = ("CONNECT", "QUERY_DCL", "QUERY_DDL")
AUDIT_FIX = "server_audit_logging=ON and server_audit_events=CONNECT,QUERY_DCL,QUERY_DDL"
# What an unset wait_timeout leaves (MySQL's default), and SecondsUntilAutoPause when the scaling config omits it.
DEFAULT_WAIT_TIMEOUT = 28800
DEFAULT_SECONDS_UNTIL_AUTO_PAUSE = 300


@resource_policy("aurora-storage-encrypted", "Aurora clusters encrypt their storage.", {CLUSTER})
def storage_encrypted(args, report_violation):
    if get(args.props, "storageEncrypted") is not True:
        report_violation(f"Aurora cluster '{args.name}' does not encrypt its storage: set storage_encrypted=True "
                         "(this replaces the cluster: migrate through an encrypted snapshot).")


@resource_policy("aurora-managed-master-password",
                 "Aurora clusters let RDS manage the master password in Secrets Manager; no resource sets a "
                 "masterPassword, which would sit in config and state.", None)
def managed_master_password(args, report_violation):
    passwords = [prop for prop in PASSWORD_PROPS if is_set(args.props, prop)]
    if passwords:  # one line per resource: the fix is the same
        report_violation(f"{label(args.resource_type, args.name)} sets {' and '.join(passwords)}: remove it and set "
                         "manage_master_user_password=True.")
    elif args.resource_type == CLUSTER and get(args.props, "manageMasterUserPassword") is not True:
        report_violation(f"Aurora cluster '{args.name}' does not let RDS manage its master password: set "
                         "manage_master_user_password=True.")


@resource_policy("aurora-backup-retention",
                 "Aurora clusters keep automated backups for at least the configured number of days.", {CLUSTER},
                 config={"minimumDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7,
                                         "description": "fewest days of automated backups"}})
def backup_retention(args, report_violation):
    minimum = args.get_config()["minimumDays"]
    days = get(args.props, "backupRetentionPeriod") or 1  # RDS keeps one day unless told otherwise
    if days < minimum:
        report_violation(f"Aurora cluster '{args.name}' keeps backups for {days:g} day(s), fewer than {minimum}: "
                         f"set backup_retention_period to {minimum} or more.")


@resource_policy("aurora-deletion-protection",
                 "Aurora clusters have deletion protection where the pack config requires it.", {CLUSTER},
                 config={"required": {"type": "boolean", "default": True,
                                      "description": "require it (prod-grade stacks); false turns the rule off"}})
def deletion_protection(args, report_violation):
    if args.get_config()["required"] and get(args.props, "deletionProtection") is not True:
        report_violation(f"Aurora cluster '{args.name}' has no deletion protection: set deletion_protection=True.")


@resource_policy("aurora-not-publicly-accessible", "No database instance is publicly accessible.",
                 {CLUSTER_INSTANCE, INSTANCE})
def not_publicly_accessible(args, report_violation):
    if get(args.props, "publiclyAccessible") is True:
        report_violation(f"database instance '{args.name}' is publicly accessible: set publicly_accessible=False "
                         "and reach it from inside the VPC.")


@resource_policy("aurora-max-capacity",
                 "Aurora Serverless v2 clusters scale to at most the configured ACU (a cost guard).", {CLUSTER},
                 level=ADVISORY,
                 config={"maximumAcu": {"type": "number", "minimum": 1, "maximum": 256, "default": 16,
                                        "description": "highest allowed serverlessv2 maxCapacity"}})
def max_capacity(args, report_violation):
    cap = args.get_config()["maximumAcu"]
    acu = get(args.props, "serverlessv2ScalingConfiguration", "maxCapacity")
    if acu is not None and acu > cap:
        report_violation(f"Aurora cluster '{args.name}' may scale to {acu:g} ACU, above the cap of {cap:g}: lower "
                         "serverlessv2_scaling_configuration.max_capacity or raise maximumAcu in the pack config.")


def _groups(resources, resource_type: str) -> dict:
    # RDS stores parameter group names in lower case.
    return {str(get(r.props, "name")).lower(): r for r in resources if r.resource_type == resource_type}


def _parameters(group) -> dict[str, str]:
    return {get(p, "name"): str(get(p, "value")) for p in as_list(get(group.props, "parameters"))}


@stack_policy("aurora-tls-enforced",
              "Aurora clusters use a cluster parameter group of this stack that rejects unencrypted connections "
              "(require_secure_transport=ON for MySQL, rds.force_ssl=1 for PostgreSQL).")
def tls_enforced(args, report_violation):
    groups = _groups(args.resources, CLUSTER_PARAMETER_GROUP)
    for cluster in (r for r in args.resources if r.resource_type == CLUSTER):
        engine = get(cluster.props, "engine")
        if engine not in TLS_PARAMETERS:
            continue
        parameter, value, accepted = TLS_PARAMETERS[engine]
        fix = f"give it an aws.rds.ClusterParameterGroup of this stack with {parameter}={value}"
        group_name = get(cluster.props, "dbClusterParameterGroupName")
        group = groups.get(str(group_name).lower()) if group_name else None
        if group is None:
            where = (f"parameter group '{group_name}', which this stack does not manage" if group_name
                     else "the default parameter group")
            report_violation(f"Aurora cluster '{cluster.name}' uses {where}, so TLS is not known to be required: "
                             f"{fix}.", cluster.urn)
            continue
        values = {get(p, "name"): str(get(p, "value")).lower() for p in as_list(get(group.props, "parameters"))}
        if values.get(parameter) not in accepted:
            report_violation(f"Aurora cluster '{cluster.name}' accepts unencrypted connections: its parameter group "
                             f"'{group.name}' does not set {parameter}; {fix}.", cluster.urn)


@resource_policy("aurora-log-exports",
                 "Aurora MySQL clusters export their audit, error and slow query logs to CloudWatch Logs.", {CLUSTER},
                 config={"required": REQUIRED})
def log_exports(args, report_violation):
    if not args.get_config()["required"] or get(args.props, "engine") != "aurora-mysql":
        return
    exported = {str(log) for log in as_list(get(args.props, "enabledCloudwatchLogsExports"))}
    missing = [log for log in MYSQL_LOG_EXPORTS if log not in exported]
    if missing:
        report_violation(f"Aurora cluster '{args.name}' does not export its {', '.join(missing)} log(s): add "
                         f"{', '.join(missing)} to enabled_cloudwatch_logs_exports, with log groups "
                         "/aws/rds/cluster/<id>/<log> of a set retention.")


@stack_policy("aurora-audit-logging",
              "Aurora MySQL clusters use a cluster parameter group of this stack that turns the audit log on "
              "(server_audit_logging=ON) for connections, DDL and DCL (server_audit_events CONNECT,QUERY_DCL,"
              "QUERY_DDL, or QUERY).", config={"required": REQUIRED})
def audit_logging(args, report_violation):
    if not args.get_config()["required"]:
        return
    groups = _groups(args.resources, CLUSTER_PARAMETER_GROUP)
    for cluster in (r for r in args.resources if r.resource_type == CLUSTER):
        if get(cluster.props, "engine") != "aurora-mysql":
            continue
        group_name = get(cluster.props, "dbClusterParameterGroupName")
        group = groups.get(str(group_name).lower()) if group_name else None
        if group is None:
            where = (f"parameter group '{group_name}', which this stack does not manage" if group_name
                     else "the default parameter group")
            report_violation(f"Aurora cluster '{cluster.name}' uses {where}, so its audit log is not known to be "
                             f"on: give it an aws.rds.ClusterParameterGroup of this stack with {AUDIT_FIX}.",
                             cluster.urn)
            continue
        values = _parameters(group)
        events = {e.strip().upper() for e in values.get("server_audit_events", "").split(",") if e.strip()}
        missing = [] if "QUERY" in events and "CONNECT" in events else [e for e in AUDIT_EVENTS if e not in events]
        if values.get("server_audit_logging", "").lower() not in ("on", "1") or missing:
            report_violation(f"Aurora cluster '{cluster.name}' has no full audit log: its parameter group "
                             f"'{group.name}' has server_audit_logging={values.get('server_audit_logging', '(unset)')}"
                             f" and server_audit_events={values.get('server_audit_events', '(unset)')}; set "
                             f"{AUDIT_FIX}.", cluster.urn)


@stack_policy("aurora-idle-session-timeout",
              "Aurora MySQL instances use a DB parameter group of this stack that sets wait_timeout and "
              "interactive_timeout (Aurora closes a session idle for the smaller one); with auto-pause (minimum "
              "capacity 0) the timeout is below SecondsUntilAutoPause, since an open idle session keeps the "
              "database awake.")
def idle_session_timeout(args, report_violation):
    groups = _groups(args.resources, PARAMETER_GROUP)
    clusters = [r for r in args.resources if r.resource_type == CLUSTER]
    for instance in (r for r in args.resources if r.resource_type == CLUSTER_INSTANCE):
        if get(instance.props, "engine") != "aurora-mysql":
            continue
        fix = "give its instances an aws.rds.ParameterGroup (db_parameter_group_name) setting wait_timeout and " \
              "interactive_timeout"
        group_name = get(instance.props, "dbParameterGroupName")
        group = groups.get(str(group_name).lower()) if group_name else None
        if group is None:
            where = (f"DB parameter group '{group_name}', which this stack does not manage" if group_name
                     else "the default DB parameter group")
            report_violation(f"Aurora instance '{instance.name}' uses {where}, so idle sessions are not known to "
                             f"close: {fix}.", instance.urn)
            continue
        values = _parameters(group)
        unset = [key for key in ("wait_timeout", "interactive_timeout") if key not in values]
        if unset:
            report_violation(f"Aurora instance '{instance.name}': its DB parameter group '{group.name}' does not set "
                             f"{' and '.join(unset)}, so idle sessions stay open up to {DEFAULT_WAIT_TIMEOUT} s: "
                             "set wait_timeout and interactive_timeout to the idle session timeout.", instance.urn)
            continue
        timeout = min(float(values["wait_timeout"]), float(values["interactive_timeout"]))
        identifier = get(instance.props, "clusterIdentifier")
        cluster = next((c for c in clusters if depends_on(instance, c)
                        or identifier in (get(c.props, "clusterIdentifier"), get(c.props, "id"))), None)
        scaling = get(cluster.props, "serverlessv2ScalingConfiguration") if cluster is not None else None
        if scaling is None or get(scaling, "minCapacity") != 0:
            continue
        pause = get(scaling, "secondsUntilAutoPause") or DEFAULT_SECONDS_UNTIL_AUTO_PAUSE
        if timeout >= pause:
            report_violation(f"Aurora instance '{instance.name}' closes idle sessions after {timeout:g} s, not before "
                             f"its cluster '{cluster.name}' auto-pauses ({pause:g} s), so an idle connection keeps it "
                             f"awake: set wait_timeout and interactive_timeout in '{group.name}' below {pause:g}.",
                             instance.urn)


POLICIES = [storage_encrypted, managed_master_password, backup_retention, deletion_protection,
            not_publicly_accessible, max_capacity, tls_enforced, log_exports, audit_logging, idle_session_timeout]
