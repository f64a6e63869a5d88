"""Aurora rules, including the stack-level TLS check."""

from tests.policy.helpers import UNKNOWN_STRING, check, messages, resource

CLUSTER = "aws:rds/cluster:Cluster"
PARAMS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
GOOD = {"engine": "aurora-mysql", "storageEncrypted": True, "manageMasterUserPassword": True,
        "backupRetentionPeriod": 14.0, "deletionProtection": True,
        "serverlessv2ScalingConfiguration": {"minCapacity": 0.5, "maxCapacity": 16.0},
        "dbClusterParameterGroupName": "db-params-1a2b3c"}


def tls_violations(cluster: dict, group: dict | None) -> list[str]:
    resources = [resource(CLUSTER, cluster, name="db-cluster")]
    if group is not None:
        resources.append(resource(PARAMS, group, name="db-params"))
    found = check("aurora-tls-enforced", resources)
    assert all(v.resource == "db-cluster" for v in found)
    return [v.message for v in found]


def test_a_prod_grade_cluster_passes_every_resource_rule():
    for policy in ("aurora-storage-encrypted", "aurora-managed-master-password", "aurora-backup-retention",
                   "aurora-deletion-protection", "aurora-max-capacity"):
        assert messages(policy, CLUSTER, GOOD) == [], policy


def test_storage_encryption():
    [message] = messages("aurora-storage-encrypted", CLUSTER, {**GOOD, "storageEncrypted": False}, name="db")
    assert "'db'" in message and "storage_encrypted=True" in message


def test_no_master_password_anywhere_and_the_cluster_manages_its_own():
    [message] = messages("aurora-managed-master-password", "aws:docdb/cluster:Cluster",
                         {"masterPasswordWo": "hunter2"}, name="docs")
    assert "masterPasswordWo" in message and "hunter2" not in message
    # A password computed from another resource is still a password in config and state.
    assert messages("aurora-managed-master-password", CLUSTER, {**GOOD, "masterPassword": UNKNOWN_STRING})
    [message] = messages("aurora-managed-master-password", CLUSTER, {**GOOD, "manageMasterUserPassword": False})
    assert "manage_master_user_password=True" in message


def test_backup_retention_against_the_configured_minimum():
    assert messages("aurora-backup-retention", CLUSTER, {**GOOD, "backupRetentionPeriod": 14.0},
                    config={"minimumDays": 14}) == []
    [message] = messages("aurora-backup-retention", CLUSTER, {**GOOD, "backupRetentionPeriod": 7.0},
                         config={"minimumDays": 14})
    assert "7 day(s), fewer than 14" in message
    unset = {k: v for k, v in GOOD.items() if k != "backupRetentionPeriod"}  # RDS keeps one day
    assert messages("aurora-backup-retention", CLUSTER, unset)  # default minimum 7
    assert messages("aurora-backup-retention", CLUSTER, unset, config={"minimumDays": 1}) == []


def test_deletion_protection_is_configurable():
    unprotected = {**GOOD, "deletionProtection": False}
    assert messages("aurora-deletion-protection", CLUSTER, unprotected)
    assert messages("aurora-deletion-protection", CLUSTER, unprotected, config={"required": False}) == []


def test_no_instance_is_publicly_accessible():
    for type_ in ("aws:rds/clusterInstance:ClusterInstance", "aws:rds/instance:Instance"):
        assert messages("aurora-not-publicly-accessible", type_, {"publiclyAccessible": False}) == []
        assert messages("aurora-not-publicly-accessible", type_, {}) == []  # the provider's default is private
        [message] = messages("aurora-not-publicly-accessible", type_, {"publiclyAccessible": True}, name="writer")
        assert "'writer'" in message and "publicly_accessible=False" in message


def test_max_capacity_is_an_advisory_cost_cap():
    big = {**GOOD, "serverlessv2ScalingConfiguration": {"maxCapacity": 32.0}}
    [violation] = check("aurora-max-capacity", [resource(CLUSTER, big)])
    assert violation.level == "advisory" and "32 ACU, above the cap of 16" in violation.message
    assert messages("aurora-max-capacity", CLUSTER, big, config={"maximumAcu": 32}) == []
    provisioned = {k: v for k, v in GOOD.items() if k != "serverlessv2ScalingConfiguration"}
    assert messages("aurora-max-capacity", CLUSTER, provisioned) == []


def test_tls_is_required_by_the_clusters_parameter_group():
    required = {"name": "db-params-1a2b3c", "parameters": [
        {"name": "require_secure_transport", "value": "ON", "applyMethod": "immediate"}]}
    assert tls_violations(GOOD, required) == []
    # RDS lower-cases parameter group names.
    assert tls_violations({**GOOD, "dbClusterParameterGroupName": "DB-Params-1a2b3c"}, required) == []
    [message] = tls_violations(GOOD, {**required, "parameters": [{"name": "require_secure_transport",
                                                                 "value": "OFF"}]})
    assert "accepts unencrypted connections" in message and "require_secure_transport=ON" in message


def test_tls_cannot_be_verified_without_a_parameter_group_of_the_stack():
    [default] = tls_violations({k: v for k, v in GOOD.items() if k != "dbClusterParameterGroupName"}, None)
    assert "default parameter group" in default
    [external] = tls_violations(GOOD, None)
    assert "'db-params-1a2b3c', which this stack does not manage" in external


def test_tls_for_postgresql_and_other_engines():
    postgres = {**GOOD, "engine": "aurora-postgresql"}
    forced = {"name": "db-params-1a2b3c", "parameters": [{"name": "rds.force_ssl", "value": "1"}]}
    assert tls_violations(postgres, forced) == []
    [message] = tls_violations(postgres, {"name": "db-params-1a2b3c", "parameters": []})
    assert "rds.force_ssl=1" in message
    assert tls_violations({**GOOD, "engine": "neptune"}, None) == []


# Audit trail and idle sessions.
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
DB_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
AUDITED = {"name": "db-params-1a2b3c", "parameters": [
    {"name": "require_secure_transport", "value": "ON"}, {"name": "server_audit_logging", "value": "ON"},
    {"name": "server_audit_events", "value": "CONNECT,QUERY_DCL,QUERY_DDL"},
    {"name": "server_audit_incl_users", "value": "cqrs_admin,cqrs_projector,cqrs_reader"}]}


def test_log_exports_include_audit_error_and_slowquery():
    exporting = {**GOOD, "enabledCloudwatchLogsExports": ["audit", "error", "slowquery"]}
    assert messages("aurora-log-exports", CLUSTER, exporting) == []
    [message] = messages("aurora-log-exports", CLUSTER, {**GOOD, "enabledCloudwatchLogsExports": ["error"]},
                         name="db")
    assert "'db'" in message and "audit, slowquery" in message and "enabled_cloudwatch_logs_exports" in message
    assert messages("aurora-log-exports", CLUSTER, GOOD)  # nothing exported
    assert messages("aurora-log-exports", CLUSTER, GOOD, config={"required": False}) == []
    assert messages("aurora-log-exports", CLUSTER, {**GOOD, "engine": "aurora-postgresql"}) == []


def audit_violations(group: dict | None, config: dict | None = None) -> list[str]:
    resources = [resource(CLUSTER, GOOD, name="db-cluster")]
    if group is not None:
        resources.append(resource(PARAMS, group, name="db-params"))
    found = check("aurora-audit-logging", resources, config)
    assert all(v.resource == "db-cluster" for v in found)
    return [v.message for v in found]


def test_audit_log_is_on_for_connections_ddl_and_dcl():
    assert audit_violations(AUDITED) == []
    everything = [p for p in AUDITED["parameters"] if p["name"] != "server_audit_events"]
    assert audit_violations({**AUDITED, "parameters": everything + [
        {"name": "server_audit_events", "value": "CONNECT,QUERY"}]}) == []  # QUERY covers DDL and DCL
    [off] = audit_violations({**AUDITED, "parameters": [{**p, "value": "OFF"} if p["name"] == "server_audit_logging"
                                                        else p for p in AUDITED["parameters"]]})
    assert "server_audit_logging=OFF" in off and "'db-params'" in off and "set server_audit_logging=ON" in off
    [no_ddl] = audit_violations({**AUDITED, "parameters": everything + [
        {"name": "server_audit_events", "value": "CONNECT"}]})
    assert "server_audit_events=CONNECT;" in no_ddl
    [unset] = audit_violations({"name": "db-params-1a2b3c", "parameters": []})
    assert "server_audit_logging=(unset)" in unset
    [default] = audit_violations(None)
    assert "default parameter group" not in default and "which this stack does not manage" in default
    assert audit_violations({"name": "db-params-1a2b3c", "parameters": []}, config={"required": False}) == []


def idle_violations(timeouts: dict[str, str] | None, scaling: dict, group_name: str = "instance-params-1a2b3c"
                    ) -> list[str]:
    cluster = resource(CLUSTER, {**GOOD, "serverlessv2ScalingConfiguration": scaling}, name="db-cluster",
                       state={"clusterIdentifier": "cqrs-orders-dev-db"})
    instance = resource(INSTANCE, {"engine": "aurora-mysql", "clusterIdentifier": "cqrs-orders-dev-db",
                                   "dbParameterGroupName": group_name}, name="db-writer")
    resources = [cluster, instance]
    if timeouts is not None:
        resources.append(resource(DB_PARAMS, {"name": "instance-params-1a2b3c", "parameters": [
            {"name": key, "value": value} for key, value in timeouts.items()]}, name="instance-params"))
    found = check("aurora-idle-session-timeout", resources)
    assert all(v.resource == "db-writer" for v in found)
    return [v.message for v in found]


def test_idle_sessions_close_before_auto_pause():
    both = {"wait_timeout": "120", "interactive_timeout": "120"}
    paused = {"minCapacity": 0, "maxCapacity": 2.0, "secondsUntilAutoPause": 300.0}
    assert idle_violations(both, paused) == []
    assert idle_violations({"wait_timeout": "1800", "interactive_timeout": "1800"},
                           {"minCapacity": 0.5, "maxCapacity": 16.0}) == []  # no auto-pause: any timeout
    [late] = idle_violations({"wait_timeout": "300", "interactive_timeout": "600"}, paused)
    assert "after 300 s" in late and "auto-pauses (300 s)" in late and "below 300" in late
    # Aurora uses the smaller of the two.
    assert idle_violations({"wait_timeout": "28800", "interactive_timeout": "120"}, paused) == []
    [default_pause] = idle_violations(both | {"wait_timeout": "400", "interactive_timeout": "400"},
                                      {"minCapacity": 0, "maxCapacity": 2.0})
    assert "(300 s)" in default_pause


def test_idle_session_timeout_needs_both_parameters_in_a_group_of_the_stack():
    paused = {"minCapacity": 0, "maxCapacity": 2.0, "secondsUntilAutoPause": 300.0}
    [one] = idle_violations({"wait_timeout": "120"}, paused)
    assert "does not set interactive_timeout" in one and "'instance-params'" in one
    [missing] = idle_violations(None, paused)
    assert "'instance-params-1a2b3c', which this stack does not manage" in missing
    [default] = idle_violations(None, paused, group_name="")
    assert "the default DB parameter group" in default and "db_parameter_group_name" in default
