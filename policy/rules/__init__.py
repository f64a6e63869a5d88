"""Every policy of the pack. Modules import each other relatively: the CLI loads this package as `rules` (from the
pack directory), the offline runner and the tests as `policy.rules`."""

from . import alarms, aurora, dynamodb, event_sources, eventbridge, iam, lambda_, logs, sqs, step_functions

POLICIES = [*dynamodb.POLICIES, *aurora.POLICIES, *lambda_.POLICIES, *event_sources.POLICIES,
            *step_functions.POLICIES, *logs.POLICIES, *iam.POLICIES, *eventbridge.POLICIES, *sqs.POLICIES,
            *alarms.POLICIES]
