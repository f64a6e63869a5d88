"""Aurora in operation: IAM database authentication, automatic minor version upgrades, a final snapshot, and a
failover reader that scales with the writer."""

from __future__ import annotations

from .support import depends_on, get, resource_policy, stack_policy

CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
INSTANCE = "aws:rds/instance:Instance"
REQUIRED = {"type": "boolean", "default": True,
            "description": "require it (prod-grade stacks); false turns the rule off"}
# Aurora Serverless v2 readers in promotion tiers 0 and 1 scale with the writer, so a failover lands on a warm one.
HIGHEST_SCALING_TIER = 1


@resource_policy("aurora-iam-authentication",
                 "Aurora clusters accept IAM database authentication, so the functions connect with short-lived "
                 "tokens from their roles instead of stored passwords.", {CLUSTER})
def iam_authentication(args, report_violation):
    if get(args.props, "iamDatabaseAuthenticationEnabled") is not True:
        report_violation(f"Aurora cluster '{args.name}' refuses IAM database authentication (the functions' "
                         "tokens): set iam_database_authentication_enabled=True.")


@resource_policy("aurora-auto-minor-version-upgrade",
                 "Database instances take minor version upgrades (security fixes) in their maintenance window.",
                 {CLUSTER_INSTANCE, INSTANCE})
def auto_minor_version_upgrade(args, report_violation):
    if get(args.props, "autoMinorVersionUpgrade") is False:
        report_violation(f"database instance '{args.name}' skips minor version upgrades (security fixes): set "
                         "auto_minor_version_upgrade=True.")


@resource_policy("aurora-final-snapshot",
                 "Aurora clusters take a final snapshot when deleted, where the pack config requires it.", {CLUSTER},
                 config={"required": REQUIRED})
def final_snapshot(args, report_violation):
    if not args.get_config()["required"]:
        return
    if get(args.props, "skipFinalSnapshot") is not False or not get(args.props, "finalSnapshotIdentifier"):
        report_violation(f"Aurora cluster '{args.name}' would be deleted without a final snapshot: set "
                         "skip_final_snapshot=False and final_snapshot_identifier.")


@stack_policy("aurora-failover-reader",
              "Aurora clusters have a reader besides the writer, in promotion tier 0 or 1 (a Serverless v2 reader "
              "there scales with the writer), where the pack config requires it.", config={"required": REQUIRED})
def failover_reader(args, report_violation):
    if not args.get_config()["required"]:
        return
    instances = [r for r in args.resources if r.resource_type == CLUSTER_INSTANCE]
    for cluster in (r for r in args.resources if r.resource_type == CLUSTER):
        identifiers = (get(cluster.props, "clusterIdentifier"), get(cluster.props, "id"))
        members = [i for i in instances if depends_on(i, cluster) or get(i.props, "clusterIdentifier") in identifiers]
        tiers = sorted(get(i.props, "promotionTier") or 0 for i in members)
        if len(members) < 2:
            report_violation(f"Aurora cluster '{cluster.name}' has {len(members)} instance(s), no failover reader: "
                             "add an aws.rds.ClusterInstance reader (auroraReaderInstances) with promotion_tier=1.",
                             cluster.urn)
        elif tiers[1] > HIGHEST_SCALING_TIER:
            report_violation(f"Aurora cluster '{cluster.name}' fails over to a reader in promotion tier {tiers[1]:g}, "
                             "which does not scale with the writer: set promotion_tier=1 on a reader.", cluster.urn)


POLICIES = [iam_authentication, auto_minor_version_upgrade, final_snapshot, failover_reader]
