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
