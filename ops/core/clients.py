"""The read side as the steps call it: `call(op, **arguments) -> result`, in process on a `Database`, or through the
in-VPC ops function. Both go through JSON, so what works in process works through Lambda."""

from __future__ import annotations

import json
import threading
from typing import Callable

from ops.core.readside import dispatch


class ReadSideError(RuntimeError):
    """The read side failed; the message carries its error type and text."""


class DirectReadSide:
    """In process: one connection per thread (as each Lambda environment has its own), from `connect()`."""

    def __init__(self, connect: Callable[[], object]):
        self.connect = connect
        self._local = threading.local()
        self.opened: list = []

    def call(self, op: str, **arguments):
        database = getattr(self._local, "database", None)
        if database is None:
            database = self._local.database = self.connect()
            self.opened.append(database)
        request = json.loads(json.dumps({"op": op, **arguments}))
        return dispatch(database, request)["result"]

    def close(self) -> None:
        for database in self.opened:
            database.close()


class LambdaReadSide:
    def __init__(self, lambda_client, function_name: str):
        self.client, self.function_name = lambda_client, function_name

    def call(self, op: str, **arguments):
        response = self.client.invoke(FunctionName=self.function_name,
                                      Payload=json.dumps({"op": op, **arguments}).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            error = payload if isinstance(payload, dict) else {}
            raise ReadSideError(f"read side {op}: {error.get('errorType', 'Error')}: "
                                f"{error.get('errorMessage', payload)}")
        return payload["result"]
