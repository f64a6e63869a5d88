"""SQS queues are encrypted at rest."""

from .support import get, is_set, resource_policy

QUEUE = "aws:sqs/queue:Queue"


@resource_policy("sqs-queue-encrypted", "SQS queues are encrypted at rest (SSE-SQS or a KMS key).", {QUEUE})
def queue_encrypted(args, report_violation):
    if get(args.props, "sqsManagedSseEnabled") is not True and not is_set(args.props, "kmsMasterKeyId"):
        report_violation(f"SQS queue '{args.name}' is not encrypted: set sqs_managed_sse_enabled=True (or "
                         "kms_master_key_id).")


POLICIES = [queue_encrypted]
