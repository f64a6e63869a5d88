"""Lambda event source mappings: partial batch failures, an on-failure destination, bounded retries and record age,
and bisection for streams; a redrive policy on the queue for SQS."""

from .support import as_list, get, is_set, redrive_target, resource_policy, stack_policy

EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
QUEUE = "aws:sqs/queue:Queue"
REDRIVE_POLICY = "aws:sqs/redrivePolicy:RedrivePolicy"

STREAMS = {"dynamodb", "kinesis"}  # retried in order until they succeed, expire or run out of retries
QUEUES = {"sqs"}  # failures return to the queue, whose redrive policy names the dead-letter queue


def source_service(args) -> str:
    """The AWS service of the mapping's source, from its ARN ("" for sources without one, e.g. self-managed Kafka)."""
    arn = get(args.props, "eventSourceArn") or ""
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""


@resource_policy("event-source-partial-batch-failures",
                 "Stream and SQS event source mappings let the function report the records that failed, so one bad "
                 "record does not retry the whole batch.", {EVENT_SOURCE_MAPPING})
def partial_batch_failures(args, report_violation):
    if source_service(args) in STREAMS | QUEUES and \
            "ReportBatchItemFailures" not in as_list(get(args.props, "functionResponseTypes")):
        report_violation(f"event source mapping '{args.name}' retries whole batches: set "
                         "function_response_types=['ReportBatchItemFailures'] and return batchItemFailures.")


@resource_policy("event-source-on-failure-destination",
                 "Stream event source mappings send records that exhaust their retries to an on-failure "
                 "destination instead of dropping them.", {EVENT_SOURCE_MAPPING})
def on_failure_destination(args, report_violation):
    if source_service(args) in STREAMS and not is_set(args.props, "destinationConfig", "onFailure", "destinationArn"):
        report_violation(f"event source mapping '{args.name}' drops records that exhaust their retries: set "
                         "destination_config={'on_failure': {'destination_arn': <SQS queue or SNS topic ARN>}}.")


@resource_policy("event-source-bounded-retries",
                 "Stream event source mappings retry a failing batch a bounded number of times and give up on records "
                 "older than a bound (the defaults, -1, retry until the records expire and block the shard "
                 "meanwhile).", {EVENT_SOURCE_MAPPING},
                 config={"maximumRetryAttempts": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 10,
                                                  "description": "most retries allowed"},
                         "maximumRecordAgeSeconds": {"type": "integer", "minimum": 60, "maximum": 604800,
                                                     "default": 86400,
                                                     "description": "oldest record age allowed before giving up"}})
def bounded_retries(args, report_violation):
    if source_service(args) not in STREAMS:
        return
    config = args.get_config()
    limit, age_limit = config["maximumRetryAttempts"], config["maximumRecordAgeSeconds"]
    retries, age = get(args.props, "maximumRetryAttempts"), get(args.props, "maximumRecordAgeInSeconds")
    if retries is None or not 0 <= retries <= limit:
        report_violation(f"event source mapping '{args.name}' retries "
                         f"{'without bound' if retries in (None, -1) else f'{retries:g} times'}: set "
                         f"maximum_retry_attempts between 0 and {limit}.")
    if age is None or not 60 <= age <= age_limit:
        report_violation(f"event source mapping '{args.name}' retries records "
                         f"{'of any age' if age in (None, -1) else f'up to {age:g} s old'}: set "
                         f"maximum_record_age_in_seconds between 60 and {age_limit}.")


@resource_policy("event-source-bisect-on-error",
                 "Stream event source mappings split a batch that fails the function (a crash or a timeout, when it "
                 "cannot report the failed records), so one bad record does not take a whole batch to the "
                 "on-failure destination.", {EVENT_SOURCE_MAPPING})
def bisect_on_error(args, report_violation):
    if source_service(args) in STREAMS and get(args.props, "bisectBatchOnFunctionError") is not True:
        report_violation(f"event source mapping '{args.name}' sends a whole failing batch to its on-failure "
                         "destination: set bisect_batch_on_function_error=True.")


@stack_policy("event-source-queue-redrive",
              "SQS event source mappings read a queue of this stack whose redrive policy (on the queue or an "
              "aws.sqs.RedrivePolicy) moves a message that keeps failing to a dead-letter queue, so that it neither "
              "returns forever nor expires unseen.")
def queue_redrive(args, report_violation):
    queues = {get(r.props, "arn"): r for r in args.resources if r.resource_type == QUEUE}
    separate = {get(r.props, "queueUrl"): get(r.props, "redrivePolicy")
                for r in args.resources if r.resource_type == REDRIVE_POLICY}
    for mapping in args.resources:
        if mapping.resource_type != EVENT_SOURCE_MAPPING or source_service(mapping) not in QUEUES:
            continue
        arn = get(mapping.props, "eventSourceArn")
        queue = queues.get(arn)
        if queue is None:
            report_violation(f"event source mapping '{mapping.name}' reads queue {arn}, which is not in this stack, "
                             "so its redrive policy cannot be checked: manage the queue in this stack with a "
                             "redrive_policy.", mapping.urn)
        elif not (redrive_target(get(queue.props, "redrivePolicy"))
                  or redrive_target(separate.get(get(queue.props, "url")))):
            report_violation(f"SQS queue '{queue.name}' (read by event source mapping '{mapping.name}') has no "
                             "dead-letter queue: set redrive_policy=json.dumps({'deadLetterTargetArn': dlq.arn, "
                             "'maxReceiveCount': 5}).", queue.urn)


POLICIES = [partial_batch_failures, on_failure_destination, bounded_retries, bisect_on_error, queue_redrive]
