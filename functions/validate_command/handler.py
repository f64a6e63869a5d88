"""Validates an orderCommand for the workflow (input: {detail, id, time} of the inbound event)."""

from aws_lambda_powertools import Logger

from validate_command.validation import validate

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    result = validate(event.get("detail"), event.get("time"))
    logger.append_keys(command_message_id=event.get("id"), order_id=result.get("orderId"))
    if result["valid"]:
        logger.info("command accepted", extra={"command": result["command"]})
    else:
        logger.info("command rejected", extra={"reason": result["reason"], "detail_message": result["message"]})
    return result
