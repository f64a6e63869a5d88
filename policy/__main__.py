"""The pack's entry point, run by the Pulumi CLI (`pulumi preview --policy-pack policy`).

Constructing PolicyPack starts the analyzer's gRPC server and blocks, so nothing imports this file: the policies
live in rules/, which the offline runner and the tests import as `policy.rules`. The CLI runs this file with the pack
directory on sys.path, hence the top-level import."""

from pulumi_policy import PolicyPack

from rules import POLICIES

PolicyPack(name="cqrs-orders", policies=POLICIES)
