"""SQS queues are encrypted at rest; dead-letter queues keep messages long enough to be looked at."""

from .dead_letters import dead_letter_queues
from .support import get, is_set, resource_policy, stack_policy

QUEUE = "aws:sqs/queue:Queue"
DEFAULT_RETENTION_SECONDS = 345600  # 4 days: what SQS keeps a message when the queue does not say


@resource_policy("sqs-queue-encrypted", "SQS queues are encrypted at rest (SSE-SQS or a KMS key).", {QUEUE})
def queue_encrypted(args, report_violation):
    if get(args.props, "sqsManagedSseEnabled") is not True and not is_set(args.props, "kmsMasterKeyId"):
        report_violation(f"SQS queue '{args.name}' is not encrypted: set sqs_managed_sse_enabled=True (or "
                         "kms_master_key_id).")


@stack_policy("sqs-dead-letter-retention",
              "Dead-letter queues keep messages for at least the configured time, so a failure can be looked at and "
              "redriven before it expires.",
              config={"minimumSeconds": {"type": "integer", "minimum": 60, "maximum": 1209600, "default": 345600,
                                         "description": "shortest message retention of a dead-letter queue"}})
def dead_letter_retention(args, report_violation):
    minimum = args.get_config()["minimumSeconds"]
    targets = dead_letter_queues(args.resources)
    for queue in (r for r in args.resources if r.resource_type == QUEUE and get(r.props, "arn") in targets):
        seconds = get(queue.props, "messageRetentionSeconds") or DEFAULT_RETENTION_SECONDS
        if seconds < minimum:
            report_violation(f"dead-letter queue '{queue.name}' keeps messages {seconds:g} s, less than {minimum} s: "
                             f"set message_retention_seconds to {minimum} or more (dlqMessageRetentionSeconds).",
                             queue.urn)


POLICIES = [queue_encrypted, dead_letter_retention]
