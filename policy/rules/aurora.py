"""Aurora: encrypted, managed master password, backups, deletion protection, private instances, TLS, an ACU cap."""

from .support import ADVISORY, as_list, get, is_set, label, resource_policy, stack_policy

CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
INSTANCE = "aws:rds/instance:Instance"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"

# Password inputs of RDS, DocumentDB, Neptune, ... clusters: a value here sits in config and in state.
PASSWORD_PROPS = ("masterPassword", "masterPasswordWo")
# engine -> (cluster parameter that rejects unencrypted connections, the value to set, values that mean "on")
TLS_PARAMETERS = {"aurora-mysql": ("require_secure_transport", "ON", {"on", "1"}),
                  "aurora-postgresql": ("rds.force_ssl", "1", {"1"})}


@resource_policy("aurora-storage-encrypted", "Aurora clusters encrypt their storage.", {CLUSTER})
def storage_encrypted(args, report_violation):
    if get(args.props, "storageEncrypted") is not True:
        report_violation(f"Aurora cluster '{args.name}' does not encrypt its storage: set storage_encrypted=True "
                         "(this replaces the cluster: migrate through an encrypted snapshot).")


@resource_policy("aurora-managed-master-password",
                 "Aurora clusters let RDS manage the master password in Secrets Manager; no resource sets a "
                 "masterPassword, which would sit in config and state.", None)
def managed_master_password(args, report_violation):
    for prop in PASSWORD_PROPS:
        if is_set(args.props, prop):
            report_violation(f"{label(args.resource_type, args.name)} sets {prop}: remove it and set "
                             "manage_master_user_password=True.")
    if args.resource_type == CLUSTER and get(args.props, "manageMasterUserPassword") is not True:
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


@stack_policy("aurora-tls-enforced",
              "Aurora clusters use a cluster parameter group of this stack that rejects unencrypted connections "
              "(require_secure_transport=ON for MySQL, rds.force_ssl=1 for PostgreSQL).")
def tls_enforced(args, report_violation):
    # RDS stores parameter group names in lower case.
    groups = {str(get(r.props, "name")).lower(): r
              for r in args.resources if r.resource_type == CLUSTER_PARAMETER_GROUP}
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


POLICIES = [storage_encrypted, managed_master_password, backup_retention, deletion_protection,
            not_publicly_accessible, max_capacity, tls_enforced]
