"""VPCs the stack creates: flow logs on, and the default security group stripped of every rule."""

from .support import as_list, depends_on, get, stack_policy

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"


def _of_vpc(resource, vpc) -> bool:
    """Whether `resource` (a flow log, a default security group) names `vpc`: it takes the VPC's id as an input
    (a dependency), or its vpcId equals the VPC's id output."""
    if depends_on(resource, vpc):
        return True
    vpc_id = get(vpc.props, "id")
    return vpc_id is not None and get(resource.props, "vpcId") == vpc_id


@stack_policy("vpc-flow-logs", "Every VPC the stack creates has a flow log of all its traffic (ALL: accepted and "
              "rejected).",
              config={"required": {"type": "boolean", "default": True,
                                   "description": "require it (prod-grade stacks); false turns the rule off"}})
def flow_logs(args, report_violation):
    if not args.get_config()["required"]:
        return
    logs = [r for r in args.resources if r.resource_type == FLOW_LOG]
    for vpc in (r for r in args.resources if r.resource_type == VPC):
        of_vpc = [log for log in logs if _of_vpc(log, vpc)]
        if not of_vpc:
            report_violation(f"VPC '{vpc.name}' has no flow log: add an aws.ec2.FlowLog with vpc_id set to it and "
                             "traffic_type='ALL', into a log group with a retention.", vpc.urn)
        elif not any(get(log.props, "trafficType") == "ALL" for log in of_vpc):
            log = of_vpc[0]
            report_violation(f"flow log '{log.name}' of VPC '{vpc.name}' records only {get(log.props, 'trafficType') or 'some'} "
                             "traffic, not the accepted connections: set traffic_type='ALL'.", log.urn)


@stack_policy("vpc-default-security-group-closed",
              "Every VPC the stack creates has its default security group adopted (aws.ec2.DefaultSecurityGroup) "
              "with no ingress and no egress rule, so nothing that falls back to it gets any traffic.")
def default_security_group_closed(args, report_violation):
    groups = [r for r in args.resources if r.resource_type == DEFAULT_SECURITY_GROUP]
    fix = "ingress=[] and egress=[]"
    for vpc in (r for r in args.resources if r.resource_type == VPC):
        adopted = [g for g in groups if _of_vpc(g, vpc)]
        if not adopted:
            report_violation(f"VPC '{vpc.name}' keeps its default security group's rules (all traffic between its "
                             f"members, all egress): add an aws.ec2.DefaultSecurityGroup with vpc_id set to it and "
                             f"{fix}.", vpc.urn)
        for group in adopted:
            rules = [direction for direction in ("ingress", "egress") if as_list(get(group.props, direction))]
            if rules:
                report_violation(f"default security group '{group.name}' of VPC '{vpc.name}' has "
                                 f"{' and '.join(rules)} rules: set {fix}.", group.urn)


POLICIES = [flow_logs, default_security_group_closed]
