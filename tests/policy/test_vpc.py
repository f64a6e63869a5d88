"""VPC rules: a created VPC has flow logs and a default security group with no rules."""

from tests.policy.helpers import check, resource

VPC, FLOW_LOG = "aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"


def vpc() -> object:
    return resource(VPC, {"cidrBlock": "10.42.0.0/16"}, name="network-vpc", state={"id": "vpc-0123456789abcdef0"})


def violations(policy: str, *others, config: dict | None = None) -> list[tuple[str, str]]:
    return [(v.resource, v.message) for v in check(policy, [vpc(), *others], config)]


def test_a_created_vpc_needs_a_flow_log():
    network = vpc()
    # Tied by dependency (vpc_id=vpc.id), or by the VPC's id output.
    by_dependency = resource(FLOW_LOG, {"trafficType": "ALL"}, name="flow-log", dependencies=(network.urn,))
    assert check("vpc-flow-logs", [network, by_dependency]) == []
    assert violations("vpc-flow-logs", resource(FLOW_LOG, {"vpcId": "vpc-0123456789abcdef0", "trafficType": "ALL"},
                                                name="flow-log")) == []
    [(name, message)] = violations("vpc-flow-logs", resource(FLOW_LOG, {"vpcId": "vpc-0fedcba9876543210"},
                                                             name="other-flow-log"))
    assert name == "network-vpc" and "has no flow log" in message and "aws.ec2.FlowLog" in message
    assert violations("vpc-flow-logs", config={"required": False}) == []


def test_a_flow_log_records_all_traffic():
    rejected = resource(FLOW_LOG, {"vpcId": "vpc-0123456789abcdef0", "trafficType": "REJECT"}, name="flow-log")
    [(name, message)] = violations("vpc-flow-logs", rejected)
    assert name == "flow-log" and "records only REJECT traffic" in message and "traffic_type='ALL'" in message
    accepted = resource(FLOW_LOG, {"vpcId": "vpc-0123456789abcdef0", "trafficType": "ALL"}, name="all-flow-log")
    assert violations("vpc-flow-logs", rejected, accepted) == []  # one flow log of all traffic is enough


def test_no_vpc_created_means_nothing_to_check():
    assert check("vpc-flow-logs", []) == [] and check("vpc-default-security-group-closed", []) == []


def test_the_default_security_group_of_a_created_vpc_is_adopted_with_no_rules():
    network = vpc()
    closed = resource(DEFAULT_SG, {"vpcId": "vpc-0123456789abcdef0", "ingress": [], "egress": []}, name="default-sg",
                      dependencies=(network.urn,))
    assert check("vpc-default-security-group-closed", [network, closed]) == []
    # Without inline rules the provider removes every rule too.
    assert violations("vpc-default-security-group-closed",
                      resource(DEFAULT_SG, {"vpcId": "vpc-0123456789abcdef0"}, name="default-sg")) == []
    [(name, message)] = violations("vpc-default-security-group-closed")
    assert name == "network-vpc" and "aws.ec2.DefaultSecurityGroup" in message and "ingress=[] and egress=[]" in message
    open_group = resource(DEFAULT_SG, {"vpcId": "vpc-0123456789abcdef0", "ingress": [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}], "egress": [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}, name="default-sg")
    [(name, message)] = violations("vpc-default-security-group-closed", open_group)
    assert name == "default-sg" and "has ingress and egress rules" in message and "ingress=[] and egress=[]" in message
