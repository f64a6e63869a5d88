"""Idle cost: what each stack costs per month when nobody uses it, priced from the program's own resource graph
(the real program under the mock runtime) with the dated list prices of prices-us-east-1.json, next to the
sample's topology priced the same way.

Every AWS resource type is either priced here, listed in the price table as free when idle (with why), or
excluded (log groups, whose volume depends on traffic): a type that is none of these stops the estimate, so a new
always-on resource cannot slip through unpriced. Logs written even when nobody uses the stack (Aurora's exported
logs on a running instance, VPC flow logs) are priced on the instance and the flow log from an assumed idle volume
(written down in the price table): ingestion, plus storage of that volume over the log group's retention."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.report import emit, say
from harness.program import RegisteredResource, run_program, stacks

PRICE_TABLE = Path(__file__).with_name("prices-us-east-1.json")
TARGET_DEV_USD = 5.0


class UnpricedResource(LookupError):
    pass


@dataclass(frozen=True)
class Charge:
    resource: str
    what: str
    usd_per_month: float


def _resource(type_: str, name: str, inputs: dict, id_: str = "") -> RegisteredResource:
    return RegisteredResource(type_, name, urn="", parent="", inputs=inputs, state={}, id=id_ or name)


# The sample's always-on resources (cqrs/template.yaml): a NAT gateway with an Elastic IP in each of two AZs,
# Aurora Serverless v2 with a 0.5 ACU minimum and one db.serverless instance, its credentials in a Secrets
# Manager secret, and the orders table at 5 provisioned RCU and 5 WCU. No alarms, no KMS key.
SAMPLE_TOPOLOGY = [
    _resource("aws:ec2/eip:Eip", "ElasticIP0", {"domain": "vpc"}),
    _resource("aws:ec2/eip:Eip", "ElasticIP1", {"domain": "vpc"}),
    _resource("aws:ec2/natGateway:NatGateway", "NATGateway0", {}),
    _resource("aws:ec2/natGateway:NatGateway", "NATGateway1", {}),
    _resource("aws:rds/cluster:Cluster", "RDSCluster",
              {"serverlessv2ScalingConfiguration": {"minCapacity": 0.5, "maxCapacity": 4}}),
    _resource("aws:rds/clusterInstance:ClusterInstance", "RDSInstance",
              {"instanceClass": "db.serverless", "clusterIdentifier": "RDSCluster"}),
    _resource("aws:secretsmanager/secret:Secret", "DBSecret", {}),
    _resource("aws:dynamodb/table:Table", "OrdersTable",
              {"billingMode": "PROVISIONED", "readCapacity": 5, "writeCapacity": 5}),
]


def run() -> dict:
    table = json.loads(PRICE_TABLE.read_text())
    say(f"idle cost: always-on resources priced with {PRICE_TABLE.name} ({table['region']}, list prices of"
        f" {table['date']}, {table['hours_per_month']} hours a month)")
    topologies = {stack: run_program(stack).resources for stack in stacks()}
    topologies["sample"] = SAMPLE_TOPOLOGY
    figures: dict = {"price_date": table["date"], "region": table["region"]}
    for name, resources in topologies.items():
        charges = monthly_charges(resources, table)
        total = round(sum(charge.usd_per_month for charge in charges), 2)
        figures[f"{name}_usd_per_month"] = total
        say(f"  {name}: ${total:.2f}/month")
        for what, count, usd in _grouped(charges):
            say(f"    {count:3d} x {what:<58} ${usd:7.2f}")
    say(f"  dev target: <= ${TARGET_DEV_USD:.2f}/month")
    return emit("idle_cost", figures)


def monthly_charges(resources: list[RegisteredResource], table: dict) -> list[Charge]:
    prices, hours = table["prices"], table["hours_per_month"]
    clusters = {r.id: r for r in resources if r.type == "aws:rds/cluster:Cluster"}
    log_groups = [r for r in resources if r.type == "aws:cloudwatch/logGroup:LogGroup"]
    groups_by_name = {r.state.get("name") or r.inputs.get("name"): r for r in log_groups}
    groups_by_arn = {r.state.get("arn"): r for r in log_groups}
    charges = []

    def charge(resource: RegisteredResource, what: str, usd: float) -> None:
        charges.append(Charge(resource.name, what, usd))

    for r in resources:
        if r.type.startswith("cqrs:") or r.type in table["free_when_idle"] or r.type in table["excluded"]:
            continue  # cqrs:* are the program's component resources, which hold the priced ones
        if r.type == "aws:rds/cluster:Cluster":
            storage = prices["aurora_minimum_storage_gb"]["gb"]
            charge(r, f"Aurora storage ({storage} GB assumed)", storage * prices["aurora_storage_gb_month"]["usd"])
            if r.inputs.get("manageMasterUserPassword"):
                charge(r, "Secrets Manager secret (Aurora-managed master password)",
                       prices["secrets_manager_secret_month"]["usd"])
        elif r.type == "aws:rds/clusterInstance:ClusterInstance":
            if r.inputs.get("instanceClass") != "db.serverless":
                raise UnpricedResource(f"{r.name}: instance class {r.inputs.get('instanceClass')} has no price")
            minimum = float(clusters[r.inputs["clusterIdentifier"]].inputs["serverlessv2ScalingConfiguration"]
                            ["minCapacity"])
            charge(r, f"Aurora Serverless v2 minimum capacity ({minimum:g} ACU)",
                   minimum * hours * prices["aurora_serverless_v2_acu_hour"]["usd"])
            cluster = clusters[r.inputs["clusterIdentifier"]]
            if minimum > 0:  # a paused instance writes no log
                for log in cluster.inputs.get("enabledCloudwatchLogsExports") or []:
                    volumes = prices["aurora_idle_log_gb_month"]["gb"]
                    if log not in volumes:
                        raise UnpricedResource(f"{cluster.name}: no idle volume assumed for the exported {log} log")
                    group = groups_by_name.get(f"/aws/rds/cluster/{cluster.id}/{log}")
                    charge(r, f"Aurora {log} log export, idle ({volumes[log]:g} GB assumed)",
                           _log_usd(volumes[log], prices["cloudwatch_logs_ingestion_gb"]["usd"], group, prices))
        elif r.type == "aws:ec2/flowLog:FlowLog":
            volume = prices["vpc_flow_log_idle_gb_month"]["gb"]
            charge(r, f"VPC flow log, idle ({volume:g} GB assumed)",
                   _log_usd(volume, prices["cloudwatch_vended_logs_ingestion_gb"]["usd"],
                            groups_by_arn.get(r.inputs.get("logDestination")), prices))
        elif r.type == "aws:ec2/natGateway:NatGateway":
            charge(r, "NAT gateway", hours * prices["nat_gateway_hour"]["usd"])
        elif r.type == "aws:ec2/eip:Eip":
            charge(r, "public IPv4 address", hours * prices["public_ipv4_hour"]["usd"])
        elif r.type == "aws:ec2/vpcEndpoint:VpcEndpoint":
            if r.inputs.get("vpcEndpointType", "Gateway") == "Interface":
                zones = len(r.inputs.get("subnetIds") or [])
                charge(r, f"VPC interface endpoint ({zones} AZs)",
                       zones * hours * prices["interface_endpoint_az_hour"]["usd"])
        elif r.type == "aws:cloudwatch/dashboard:Dashboard":
            charge(r, "CloudWatch dashboard", prices["cloudwatch_dashboard_month"]["usd"])
        elif r.type == "aws:cloudwatch/metricAlarm:MetricAlarm":
            charge(r, *_alarm(r, prices))
        elif r.type == "aws:secretsmanager/secret:Secret":
            charge(r, "Secrets Manager secret", prices["secrets_manager_secret_month"]["usd"])
        elif r.type == "aws:kms/key:Key":
            charge(r, "KMS customer managed key", prices["kms_customer_key_month"]["usd"])
        elif r.type == "aws:dynamodb/table:Table":
            if r.inputs.get("billingMode", "PROVISIONED") == "PROVISIONED":
                usd = hours * (r.inputs.get("readCapacity", 0) * prices["dynamodb_provisioned_rcu_hour"]["usd"]
                               + r.inputs.get("writeCapacity", 0) * prices["dynamodb_provisioned_wcu_hour"]["usd"])
                charge(r, "DynamoDB provisioned capacity", usd)
        else:
            raise UnpricedResource(f"{r.name}: no price and not listed as free when idle: {r.type}")
    return charges


def _log_usd(gb_month: float, usd_per_gb: float, group: RegisteredResource | None, prices: dict) -> float:
    """Ingesting `gb_month` a month, and storing what the log group keeps at steady state (its retention's worth;
    a year's when the stack does not manage the group, as RDS would create it without retention)."""
    retention_days = (group.inputs.get("retentionInDays") if group else None) or 365
    stored_gb = gb_month * retention_days * 12 / 365
    return gb_month * usd_per_gb + stored_gb * prices["cloudwatch_logs_storage_gb_month"]["usd"]


def _alarm(alarm: RegisteredResource, prices: dict) -> tuple[str, float]:
    """CloudWatch bills an alarm per metric it watches (a metric math alarm watches several)."""
    queries = alarm.inputs.get("metricQueries") or [{"metric": {"period": alarm.inputs["period"]}}]
    metrics = [query["metric"] for query in queries if query.get("metric")]
    resolution = "high_resolution" if min(metric["period"] for metric in metrics) < 60 else "standard"
    usd = len(metrics) * prices[f"cloudwatch_{resolution}_alarm_month"]["usd"]
    return f"CloudWatch alarm metric ({resolution.replace('_', ' ')})", usd


def _grouped(charges: list[Charge]) -> list[tuple[str, int, float]]:
    groups: dict[str, list[float]] = {}
    for charge in charges:
        groups.setdefault(charge.what, []).append(charge.usd_per_month)
    return sorted(((what, len(usds), sum(usds)) for what, usds in groups.items()), key=lambda group: -group[2])
