"""Which SQS queues are dead-letter queues: those named as the destination of what another resource failed to
process (an EventBridge target, an event source mapping, a function, an event invoke config, a redrive policy)."""

from .support import get, redrive_target

QUEUE = "aws:sqs/queue:Queue"
# type -> path of the ARN that receives what the resource failed to process
DEAD_LETTER_TARGETS = {
    "aws:cloudwatch/eventTarget:EventTarget": ("deadLetterConfig", "arn"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ("destinationConfig", "onFailure", "destinationArn"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ("destinationConfig", "onFailure",
                                                                       "destination"),
    "aws:lambda/function:Function": ("deadLetterConfig", "targetArn"),
}
# types whose `redrivePolicy` is a JSON redrive policy naming a deadLetterTargetArn
REDRIVE_POLICIES = {QUEUE, "aws:sqs/redrivePolicy:RedrivePolicy", "aws:sns/topicSubscription:TopicSubscription"}


def dead_letter_queues(resources) -> dict:
    """ARN of each SQS queue that receives failures -> the first resource sending them to it."""
    queues: dict = {}
    for resource in resources:
        arns = []
        if resource.resource_type in DEAD_LETTER_TARGETS:
            arns.append(get(resource.props, *DEAD_LETTER_TARGETS[resource.resource_type]))
        if resource.resource_type in REDRIVE_POLICIES:
            arns.append(redrive_target(get(resource.props, "redrivePolicy")))
        for arn in arns:
            if isinstance(arn, str) and arn.split(":")[2:3] == ["sqs"]:
                queues.setdefault(arn, resource)
    return queues
