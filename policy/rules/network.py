"""Network: security group rules open to nobody outside and to named ports only, subnets without public addresses,
no internet gateway. (Flow logs and the default security group: vpc.py.)"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .support import as_list, get, label, resource_policy

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SUBNET = "aws:ec2/subnet:Subnet"
# Resources that connect a VPC to the internet.
INTERNET_GATEWAYS = {"aws:ec2/internetGateway:InternetGateway",
                     "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
                     "aws:ec2/internetGatewayAttachment:InternetGatewayAttachment"}
ALL_PROTOCOLS = {"-1", "all"}
HIGHEST_PORT = 65535


@dataclass(frozen=True)
class Rule:
    subject: str  # how messages name the rule, e.g. "SecurityGroup 'db' ingress[0]"
    protocol: str
    from_port: float
    to_port: float
    cidrs: list
    cidr_property: str  # where the CIDR is set, in the program's (snake_case) terms


def _rules(args, direction: str) -> list[Rule]:
    """The rules of one direction ("ingress" or "egress") that the resource declares."""
    props, subject = args.props, label(args.resource_type, args.name)
    if args.resource_type == SECURITY_GROUP:
        return [Rule(f"{subject} {direction}[{index}]", str(get(rule, "protocol")), get(rule, "fromPort") or 0,
                     get(rule, "toPort") or 0, as_list(get(rule, "cidrBlocks")) + as_list(get(rule, "ipv6CidrBlocks")),
                     "cidr_blocks")
                for index, rule in enumerate(as_list(get(props, direction)))]
    if args.resource_type == SECURITY_GROUP_RULE and get(props, "type") == direction:
        return [Rule(subject, str(get(props, "protocol")), get(props, "fromPort") or 0, get(props, "toPort") or 0,
                     as_list(get(props, "cidrBlocks")) + as_list(get(props, "ipv6CidrBlocks")), "cidr_blocks")]
    if args.resource_type == {"ingress": INGRESS_RULE, "egress": EGRESS_RULE}[direction]:
        cidrs = [c for c in (get(props, "cidrIpv4"), get(props, "cidrIpv6")) if c]
        return [Rule(subject, str(get(props, "ipProtocol")), get(props, "fromPort") or 0, get(props, "toPort") or 0,
                     cidrs, "cidr_ipv4/cidr_ipv6")]
    return []


def _wide_open(cidr: str) -> bool:
    """0.0.0.0/0, ::/0, or any public range of a /8 (IPv4) or /32 (IPv6) or wider."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return not network.is_private and network.prefixlen <= (8 if network.version == 4 else 32)


def _all_ports(rule: Rule) -> bool:
    if rule.protocol.lower() in ALL_PROTOCOLS:
        return True
    return rule.protocol.lower() in ("tcp", "udp", "6", "17") and rule.from_port <= 1 and rule.to_port >= HIGHEST_PORT


def _traffic(rule: Rule) -> str:
    if rule.protocol.lower() in ALL_PROTOCOLS:
        return "all traffic"
    ports = f"{rule.from_port:g}" if rule.from_port == rule.to_port else f"{rule.from_port:g}-{rule.to_port:g}"
    return f"{rule.protocol} {ports}"


def _check(args, report_violation, direction: str, peers: str, fix: str) -> None:
    for rule in _rules(args, direction):
        open_to = [cidr for cidr in rule.cidrs if isinstance(cidr, str) and _wide_open(cidr)]
        if open_to:
            report_violation(f"{rule.subject} allows {_traffic(rule)} {peers} {', '.join(open_to)} "
                             f"({rule.cidr_property}): {fix}.")
        elif _all_ports(rule):
            report_violation(f"{rule.subject} allows {_traffic(rule)} (every port): set the protocol and the one "
                             "port (from_port/to_port) the service listens on.")


@resource_policy("security-group-ingress-restricted",
                 "Security group ingress rules admit no traffic from the internet (0.0.0.0/0, ::/0 or any wide public "
                 "range) and name their ports (no all-traffic or 0-65535 rule, even from a security group).",
                 {SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE})
def ingress_restricted(args, report_violation):
    _check(args, report_violation, "ingress", "from",
           "admit only the clients' security group (referenced_security_group_id) on the service's port")


@resource_policy("security-group-egress-restricted",
                 "Security group egress rules send no traffic to the internet (0.0.0.0/0, ::/0 or any wide public "
                 "range: the VPC has no route there) and name their ports.",
                 {SECURITY_GROUP, SECURITY_GROUP_RULE, EGRESS_RULE})
def egress_restricted(args, report_violation):
    _check(args, report_violation, "egress", "to",
           "allow only the destination's security group (referenced_security_group_id) on its port")


@resource_policy("subnet-no-public-ip", "Subnets give nothing launched in them a public IP address.", {SUBNET})
def subnet_no_public_ip(args, report_violation):
    if get(args.props, "mapPublicIpOnLaunch") is True:
        report_violation(f"subnet '{args.name}' gives what is launched in it a public IP address: set "
                         "map_public_ip_on_launch=False.")


@resource_policy("vpc-no-internet-gateway",
                 "No internet gateway: the VPC is private by design (the functions inside call no AWS API, so there is "
                 "no route to or from the internet).", INTERNET_GATEWAYS)
def no_internet_gateway(args, report_violation):
    report_violation(f"{label(args.resource_type, args.name)} connects the private VPC to the internet: remove it "
                     "(reach AWS services through VPC endpoints instead).")


POLICIES = [ingress_restricted, egress_restricted, subnet_no_public_ip, no_internet_gateway]
