"""Every policy of the pack. Modules import each other relatively: the CLI loads this package as `rules` (from the
pack directory), the offline runner and the tests as `policy.rules`."""

from . import (alarms, api_gateway, aurora, aurora_operations, deprecated, dynamodb, event_sources, eventbridge, iam,
               lambda_, logs, network, privilege_escalation, resource_policies, sqs, step_functions, vpc)

POLICIES = [*dynamodb.POLICIES, *aurora.POLICIES, *aurora_operations.POLICIES, *lambda_.POLICIES,
            *deprecated.POLICIES, *event_sources.POLICIES, *step_functions.POLICIES, *logs.POLICIES, *iam.POLICIES,
            *privilege_escalation.POLICIES, *resource_policies.POLICIES, *eventbridge.POLICIES, *sqs.POLICIES,
            *alarms.POLICIES, *vpc.POLICIES, *network.POLICIES,
            *api_gateway.POLICIES]
