"""The HTTP API's Lambda TOKEN authorizer: checks the request's bearer JWT against the issuer and audience of the
stack's settings (JWT_ISSUER, JWT_AUDIENCE); the checks are in tokens.py. The issuer's keys are kept per warm
container."""

import os

from aws_lambda_powertools import Logger

from jwt_authorizer.tokens import IssuerKeys, IssuerUnavailable, authorize

logger = Logger()
_KEYS: IssuerKeys | None = None


def _keys() -> IssuerKeys:
    global _KEYS
    if _KEYS is None:
        _KEYS = IssuerKeys(os.environ["JWT_ISSUER"])
    return _KEYS


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    try:
        answer, reason = authorize(event, os.environ["JWT_ISSUER"], os.environ["JWT_AUDIENCE"], _keys())
    except IssuerUnavailable as error:
        logger.error("the issuer's keys are unavailable", extra={"reason": str(error)})
        raise
    effect = answer["policyDocument"]["Statement"][0]["Effect"]
    logger.info("token checked", extra={"effect": effect, "reason": reason, "principal": answer["principalId"]})
    return answer
