"""Lambda as AWS answers it, over moto (installed for the life of a LocalCloud).

- Invoke: a payload that is not JSON is an InvalidRequestContentException (moto answers a 500 page), a payload over
  the quota a RequestTooLargeException (6 MB synchronous, 1 MB asynchronous); `Event` invocations return 202 at
  once and run in the background (a function error is retried twice, one and two minutes later, as Lambda does);
  `DryRun` validates and does not run the function.
- GetFunction(Configuration) shows the function's LoggingConfig (moto drops it) and its VpcConfig with the VPC its
  subnets belong to (moto shows a made-up VPC id).
- moto's own DynamoDB stream delivery (synchronous, inside PutItem, which also discards the records it delivered)
  is switched off: localcloud's StreamPoller delivers with the event source mapping's semantics, and the mapping
  itself stays in moto, so ListEventSourceMappings shows it (filtered by the function's name or ARN, as on AWS).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend, LambdaFunction

SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
ASYNC_PAYLOAD_BYTES = 1024 * 1024
ASYNC_RETRY_DELAYS_S = (60, 120)


class RequestTooLarge(LambdaClientError):
    code = 413

    def __init__(self, limit: int):
        super().__init__("RequestTooLargeException",
                         f"Request must be smaller than {limit} bytes for the InvokeFunction operation")


def _default_logging(function: LambdaFunction, spec: dict) -> dict:
    """What GetFunctionConfiguration shows: the configured settings, with Lambda's defaults filled in."""
    given = dict(spec.get("LoggingConfig") or {})
    config = {"LogFormat": given.get("LogFormat", "Text"),
              "LogGroup": given.get("LogGroup") or f"/aws/lambda/{function.function_name}"}
    if config["LogFormat"] == "JSON":
        config["ApplicationLogLevel"] = given.get("ApplicationLogLevel", "INFO")
        config["SystemLogLevel"] = given.get("SystemLogLevel", "INFO")
    return config


class LambdaFidelity:
    def __init__(self, vpc_of_subnets: Callable[[list[str]], str | None] = lambda subnets: None):
        self.vpc_of_subnets = vpc_of_subnets  # the VPC the program put these subnets in (they are inert offline)

    # -- configuration ----------------------------------------------------------------------------------------

    def _vpc_config(self, function: LambdaFunction) -> dict | None:
        given = function._vpc_config
        if not given:
            return None
        subnets = list(given.get("SubnetIds") or [])
        return {"SubnetIds": subnets, "SecurityGroupIds": list(given.get("SecurityGroupIds") or []),
                "VpcId": (self.vpc_of_subnets(subnets) or "") if subnets else "",
                "Ipv6AllowedForDualStack": bool(given.get("Ipv6AllowedForDualStack", False))}

    def _configuration(self, original: Callable) -> Callable:
        def get_configuration(function: LambdaFunction, on_create: bool = False) -> dict:
            config = original(function, on_create)
            config["LoggingConfig"] = dict(getattr(function, "logging_config", None) or _default_logging(function, {}))
            vpc = self._vpc_config(function)
            if vpc is None:
                config.pop("VpcConfig", None)
            else:
                config["VpcConfig"] = vpc
            return config
        return get_configuration

    @staticmethod
    def _init(original: Callable) -> Callable:
        def __init__(function: LambdaFunction, account_id: str, spec: dict, region: str, version="1"):
            original(function, account_id, spec, region, version)
            function.logging_config = _default_logging(function, spec)
        return __init__

    @staticmethod
    def _update(original: Callable) -> Callable:
        def update_configuration(function: LambdaFunction, config_updates: dict) -> dict:
            if "LoggingConfig" in config_updates:
                current = dict(getattr(function, "logging_config", {}))
                function.logging_config = _default_logging(function, {"LoggingConfig": {
                    **current, **config_updates["LoggingConfig"]}})
            return original(function, config_updates)
        return update_configuration

    # -- invoke -----------------------------------------------------------------------------------------------

    @staticmethod
    def _invoke(original: Callable) -> Callable:
        def invoke(function: LambdaFunction, body, request_headers, response_headers):
            kind = request_headers.get("x-amz-invocation-type") or "RequestResponse"
            raw = body.encode() if isinstance(body, str) else (body or b"")
            limit = ASYNC_PAYLOAD_BYTES if kind == "Event" else SYNC_PAYLOAD_BYTES
            if len(raw) > limit:
                raise RequestTooLarge(limit)
            if raw:
                try:
                    json.loads(raw)
                except (ValueError, RecursionError) as error:
                    raise LambdaClientError("InvalidRequestContentException",
                                            f"Could not parse request body into json: Could not parse payload into "
                                            f"json: {error}") from None
            if kind == "DryRun":
                return ""  # the request is valid and the caller may invoke: nothing runs
            if kind == "Event":
                threading.Thread(target=_invoke_async, args=(function, body), daemon=True,
                                 name=f"async-{function.function_name}").start()
                return ""
            return original(function, body, request_headers, response_headers)
        return invoke

    def install(self) -> Callable[[], None]:
        """Patch moto; returns the function that restores it."""
        saved = {name: LambdaFunction.__dict__[name] for name in ("__init__", "get_configuration",
                                                                   "update_configuration", "invoke")}
        send_dynamodb_items = LambdaBackend.__dict__["send_dynamodb_items"]
        list_mappings = LambdaBackend.__dict__["list_event_source_mappings"]
        LambdaFunction.__init__ = self._init(saved["__init__"])
        LambdaFunction.get_configuration = self._configuration(saved["get_configuration"])
        LambdaFunction.update_configuration = self._update(saved["update_configuration"])
        LambdaFunction.invoke = self._invoke(saved["invoke"])
        LambdaBackend.send_dynamodb_items = lambda backend, *args, **kwargs: None  # StreamPoller delivers
        LambdaBackend.list_event_source_mappings = _list_event_source_mappings

        def restore() -> None:
            for name, original in saved.items():
                setattr(LambdaFunction, name, original)
            LambdaBackend.send_dynamodb_items = send_dynamodb_items
            LambdaBackend.list_event_source_mappings = list_mappings

        return restore


def _list_event_source_mappings(backend: LambdaBackend, event_source_arn: str | None, function_name: str | None):
    """The FunctionName filter takes the function's name or ARN, as on AWS (moto compares it with the text the
    mapping was created with)."""
    mappings = [m for m in backend._event_source_mappings.values()
                if not event_source_arn or m.event_source_arn == event_source_arn]
    if function_name:
        try:
            arn = backend.get_function(function_name).function_arn
        except Exception:  # no such function: no mapping
            return []
        mappings = [m for m in mappings if m.function_arn == arn]
    return mappings


def _invoke_async(function: LambdaFunction, body) -> None:
    """Lambda's asynchronous invocation: the event is run, and retried twice on a function error."""
    for delay in (0, *ASYNC_RETRY_DELAYS_S):
        time.sleep(delay)
        try:
            _, failed, _ = function._invoke_lambda(body or "{}")
        except Exception:  # the emulator is stopping
            return
        if not failed:
            return
