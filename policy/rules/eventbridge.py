"""EventBridge targets: a bounded retry policy and a dead-letter queue for events that still fail."""

from .support import is_set, resource_policy

EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"


@resource_policy("eventbridge-target-retry-policy",
                 "EventBridge targets (of rules and of Scheduler schedules) set their retry policy (attempts and event "
                 "age) instead of the 24-hour, 185-attempt default.", {EVENT_TARGET, SCHEDULE})
def retry_policy(args, report_violation):
    policy = ("target", "retryPolicy") if args.resource_type == SCHEDULE else ("retryPolicy",)
    if not (is_set(args.props, *policy, "maximumRetryAttempts")
            and is_set(args.props, *policy, "maximumEventAgeInSeconds")):
        where = (f"schedule '{args.name}': target" if args.resource_type == SCHEDULE
                 else f"EventBridge target '{args.name}'")
        report_violation(f"{where} has no retry policy of its own: set "
                         "retry_policy={'maximum_retry_attempts': ..., 'maximum_event_age_in_seconds': ...}.")


@resource_policy("eventbridge-target-dead-letter-queue",
                 "EventBridge targets send events they fail to deliver to a dead-letter queue instead of dropping "
                 "them.", {EVENT_TARGET})
def dead_letter_queue(args, report_violation):
    if not is_set(args.props, "deadLetterConfig", "arn"):
        report_violation(f"EventBridge target '{args.name}' drops events it fails to deliver: set "
                         "dead_letter_config={'arn': <SQS queue ARN>} and let events.amazonaws.com send to it.")


POLICIES = [retry_policy, dead_letter_queue]
