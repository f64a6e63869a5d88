"""The shape every query function shares: the query event's detail in, its orderQueryResponse detail out."""

import functools
from typing import Callable

from aws_lambda_powertools import Logger

from orders_db.connection import Database


def query_handler(answer: Callable[[Database, object], dict]) -> Callable:
    """A Lambda handler that answers with `answer(database, event)` over the container's reused connection."""
    logger = Logger()
    database = functools.cache(Database.from_env)  # one connection per container, settings from the environment

    @logger.inject_lambda_context
    def handler(event, context):
        db = database()
        db.limit_to(context)  # waiting for a resuming database may take what is left of the invocation
        response = answer(db, event)
        logger.info("query answered", extra={"queryStatus": response["queryStatus"], "error": response.get("error")})
        return response

    handler.database = database  # tests point it at their own database with cache_clear()
    return handler
