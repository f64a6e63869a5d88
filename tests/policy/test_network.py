"""Network rules: security group rules closed to the internet and scoped to ports, private subnets, no gateway."""

import pytest

from tests.policy.helpers import messages

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
MYSQL = {"ipProtocol": "tcp", "fromPort": 3306.0, "toPort": 3306.0}


def ingress(props: dict, type_: str = INGRESS) -> list[str]:
    return messages("security-group-ingress-restricted", type_, props, name="rule")


def test_rules_from_a_security_group_on_one_port_pass():
    assert ingress({**MYSQL, "referencedSecurityGroupId": "sg-1"}) == []
    assert messages("security-group-egress-restricted", EGRESS, {**MYSQL, "referencedSecurityGroupId": "sg-1"}) == []
    assert ingress({**MYSQL, "cidrIpv4": "10.42.0.0/16"}) == []  # a private range
    assert ingress({**MYSQL, "cidrIpv4": "203.0.113.7/32"}) == []  # one public address (an office, a bastion)


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "0.0.0.0/1", "2000::/3"])
def test_ingress_from_the_internet_is_reported_with_the_cidr(cidr):
    key = "cidrIpv6" if ":" in cidr else "cidrIpv4"
    [message] = ingress({**MYSQL, key: cidr})
    assert f"'rule' allows tcp 3306 from {cidr}" in message and "referenced_security_group_id" in message


def test_every_port_is_reported_even_from_a_security_group_and_only_once():
    for props in ({"ipProtocol": "-1", "referencedSecurityGroupId": "sg-1"},
                  {"ipProtocol": "tcp", "fromPort": 0.0, "toPort": 65535.0, "referencedSecurityGroupId": "sg-1"}):
        [message] = ingress(props)
        assert "(every port)" in message and "from_port/to_port" in message
    [message] = ingress({"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"})  # open and every port: one line
    assert "allows all traffic from 0.0.0.0/0" in message


def test_inline_rules_and_security_group_rules_count_by_direction():
    group = {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"]},
                         {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}],
             "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]}
    [message] = ingress(group, SG)
    assert message.startswith("SecurityGroup 'rule' ingress[1] allows tcp 22 from 0.0.0.0/0")
    [message] = messages("security-group-egress-restricted", SG, group, name="rule")
    assert message.startswith("SecurityGroup 'rule' egress[0] allows all traffic to 0.0.0.0/0")
    egress_rule = {"type": "egress", "protocol": "tcp", "fromPort": 443, "toPort": 443, "ipv6CidrBlocks": ["::/0"]}
    assert ingress(egress_rule, SG_RULE) == []
    assert messages("security-group-egress-restricted", SG_RULE, egress_rule)


def test_subnets_and_gateways():
    [message] = messages("subnet-no-public-ip", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True}, name="s")
    assert "map_public_ip_on_launch=False" in message
    assert messages("subnet-no-public-ip", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False}) == []
    for gateway in ("aws:ec2/internetGateway:InternetGateway",
                    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"):
        [message] = messages("vpc-no-internet-gateway", gateway, {"vpcId": "vpc-1"}, name="gw")
        assert "'gw' connects the private VPC to the internet" in message
