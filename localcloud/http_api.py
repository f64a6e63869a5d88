"""The stack's REST API, served on 127.0.0.1 as API Gateway runs it: the API is the body the program deployed (its
OpenAPI document with API Gateway's extensions) and the stage's variables and access log settings; each request is
routed, throttled (the stage's method settings: localcloud.api_throttle), authorized (SigV4, verified for
localcloud's own credentials; or a Lambda TOKEN authorizer: localcloud.api_authorizer), checked (media type, size,
the body validator), mapped by the operation's request template (localcloud.vtl, a real Velocity engine), sent to
Step Functions' StartSyncExecution over HTTP as API Gateway's AWS integration does (with its timeout, at most API
Gateway's 29 s: 504 on expiry, the execution going on), and answered through the integration response the status
selects. Gateway errors use the API's gateway responses; every response carries x-amzn-RequestId; each request
writes an access log line. Not emulated: usage plans, API keys and the account's throttling limits.

LOCALCLOUD_API_INTEGRATION_TIMEOUT_MS (tests only, never the deployed program) lowers the 29 s limit, so that a
test of the 504 takes seconds."""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from localcloud.api_authorizer import Refused, TokenAuthorizers
from localcloud.api_throttle import TokenBuckets, limits
from localcloud.cloudwatch_logs import now_ms, put_log_events
from localcloud.vtl import TemplateFailed, render

MAX_BODY_BYTES = 10 * 1024 * 1024  # REST API payload quota
KNOWN_SECRETS = {"localcloud": "localcloud"}  # localcloud's credentials: their signatures are verified
# API Gateway's limit on an integration's timeout (REST APIs: 29 s, unless raised by a quota request).
INTEGRATION_LIMIT_MS = int(os.environ.get("LOCALCLOUD_API_INTEGRATION_TIMEOUT_MS", "29000"))


@dataclass
class Deployed:
    """What the program deployed: the APIs' bodies and their stages (filled by the mocks' provisioners)."""
    apis: dict[str, dict] = field(default_factory=dict)  # api id -> OpenAPI body
    stages: dict[tuple[str, str], dict] = field(default_factory=dict)  # (api id, stage name) -> stage inputs
    # (api id, stage name) -> method path (`*/*`, `orders/GET`) -> its MethodSettings' settings
    method_settings: dict[tuple[str, str], dict[str, dict]] = field(default_factory=dict)
    permissions: list[dict] = field(default_factory=list)  # Lambda permissions (resource policy statements)


class _Answer(Exception):
    def __init__(self, status: int, message: str, kind: str = ""):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def _route(body: dict, method: str, path: str) -> tuple[dict, dict[str, str]] | None:
    for template, operations in body.get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        match = re.match(pattern, path)
        if match and method.lower() in operations:
            return operations[method.lower()], {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def _verify_sigv4(request: Request, raw_body: bytes, region: str) -> None:
    header = request.headers.get("Authorization", "")
    if not header:
        raise _Answer(403, "Missing Authentication Token", "MISSING_AUTHENTICATION_TOKEN")
    match = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/execute-api/aws4_request, ?"
                         r"SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})", header.strip())
    if not match or match[3] != region or not request.headers.get("X-Amz-Date"):
        raise _Answer(403, "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and 'X-Amz-Date'"
                      " for the service execute-api in " + region, "INCOMPLETE_SIGNATURE")
    secret = KNOWN_SECRETS.get(match[1])
    if secret is None:
        return  # any other credentials are accepted, as by the rest of localcloud
    signed = AWSRequest(method=request.method, url=request.url, data=raw_body,
                        headers={name: request.headers.get(name, "") for name in match[4].split(";")})
    signed.context["timestamp"] = request.headers["X-Amz-Date"]
    auth = SigV4Auth(Credentials(match[1], secret, request.headers.get("X-Amz-Security-Token")), "execute-api", region)
    expected = auth.signature(auth.string_to_sign(signed, auth.canonical_request(signed)), signed)
    if expected != match[5]:
        raise _Answer(403, "The request signature we calculated does not match the signature you provided. Check your "
                      "AWS Secret Access Key and signing method.", "INVALID_SIGNATURE")


class RestApiServer:
    def __init__(self, deployed: Deployed, sock, sfn_endpoint: str, account: str, region: str):
        """`sock`: the listening socket, bound before the deploy (the stage's URL names its port)."""
        self.deployed, self.sock, self.sfn_endpoint = deployed, sock, sfn_endpoint
        self.account, self.region = account, region
        self._server = None
        self._thread: threading.Thread | None = None
        self._session = requests.Session()
        self.buckets = TokenBuckets()
        self.authorizers = TokenAuthorizers(sfn_endpoint, account, region, deployed.permissions)

    def start(self) -> None:
        host, port = self.sock.getsockname()[:2]
        self._server = make_server(host, port, self._wsgi, threaded=True, fd=self.sock.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, name="rest-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._thread.join()
            self._server.server_close()
            self._server = None

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        started = time.monotonic()
        context: dict[str, Any] = {
            "requestId": str(uuid.uuid4()), "requestTimeEpoch": now_ms(), "accountId": self.account,
            "httpMethod": request.method, "identity": {"sourceIp": request.remote_addr or "127.0.0.1"},
            "responseOverride": {"status": None, "header": {}}, "error": {}, "integration": {}}
        api_id, stage, body = self._stage_of(request.path)
        try:
            response = self._serve(request, context, api_id, stage, body)
        except _Answer as answer:
            response = self._gateway_error(body, context, answer)
        response.headers["x-amzn-RequestId"] = context["requestId"]
        context.update(status=response.status_code, responseLength=len(response.get_data()),
                       responseLatency=int((time.monotonic() - started) * 1000))
        self._access_log(api_id, stage, context)
        return response

    def _stage_of(self, path: str) -> tuple[str, str, dict]:
        stage_name = path.lstrip("/").split("/", 1)[0]
        for (api_id, name), _ in self.deployed.stages.items():
            if name == stage_name:
                return api_id, name, self.deployed.apis.get(api_id, {})
        return "", "", {}

    def _serve(self, request: Request, context: dict, api_id: str, stage: str, body: dict) -> Response:
        path = "/" + request.path.lstrip("/").split("/", 1)[1] if "/" in request.path.lstrip("/") else "/"
        found = _route(body, request.method, path) if body else None
        if found is None:
            raise _Answer(403, "Missing Authentication Token", "MISSING_AUTHENTICATION_TOKEN")
        operation, path_params = found
        context["resourcePath"] = next(t for t, ops in body["paths"].items() if ops.get(request.method.lower())
                                       is operation)
        throttle = limits(self.deployed.method_settings.get((api_id, stage), {}), context["resourcePath"],
                          request.method)
        if throttle and not self.buckets.take((api_id, stage, context["resourcePath"], request.method), *throttle):
            raise _Answer(429, "Too Many Requests", "THROTTLED")
        raw = request.get_data(cache=True)
        if len(raw) > MAX_BODY_BYTES:
            raise _Answer(413, "Request Too Long", "REQUEST_TOO_LARGE")
        self._authorize(request, raw, body, operation, api_id, stage, path, context)
        integration = operation["x-amazon-apigateway-integration"]
        media = (request.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        template = integration.get("requestTemplates", {}).get(media)
        if template is None:
            raise _Answer(415, "Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE")
        text = raw.decode("utf-8", "replace")
        if operation.get("x-amazon-apigateway-request-validator"):
            self._validate_body(body, operation, text)
        params = {"path": path_params, "querystring": dict(parse_qsl(request.query_string.decode(), True)),
                  "header": dict(request.headers)}
        stage_variables = self.deployed.stages[(api_id, stage)].get("variables") or {}
        try:
            start = render(template, body=text, context=context, stage_variables=stage_variables, params=params)
        except TemplateFailed:
            raise _Answer(500, "Internal server error", "DEFAULT_5XX") from None
        return self._integrate(integration, start, context, params)

    def _authorize(self, request: Request, raw: bytes, body: dict, operation: dict, api_id: str, stage: str,
                   path: str, context: dict) -> None:
        """The operation's security requirement (its own, else the API's): each scheme it names must pass."""
        requirements = operation.get("security", body.get("security")) or []
        schemes = body.get("components", {}).get("securitySchemes", {})
        for name in (requirements[0] if requirements else {}):
            scheme = schemes[name]
            if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4":
                _verify_sigv4(request, raw, self.region)
            elif "x-amazon-apigateway-authorizer" in scheme:
                try:
                    context["authorizer"] = self.authorizers.authorize(name, scheme, request.headers, api_id, stage,
                                                                       request.method, path)
                except Refused as refused:
                    raise _Answer(refused.status, refused.message, refused.kind) from None
            else:
                raise NotImplementedError(f"localcloud does not emulate the security scheme {name!r}: {scheme}")

    def _validate_body(self, body: dict, operation: dict, text: str) -> None:
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        model = body["components"]["schemas"][reference.rsplit("/", 1)[1]]
        if model != {"type": "object"}:
            raise NotImplementedError(f"localcloud validates only the model {{'type': 'object'}}, not {model}")
        try:
            valid = isinstance(json.loads(text), dict)
        except ValueError:
            valid = False
        if not valid:
            raise _Answer(400, "Invalid request body", "BAD_REQUEST_BODY")

    def _integrate(self, integration: dict, request_body: str, context: dict, params: dict) -> Response:
        action = integration["uri"].rsplit("action/", 1)[1]
        aws_request = AWSRequest(method="POST", url=self.sfn_endpoint + "/", data=request_body.encode(), headers={
            "X-Amz-Target": f"AWSStepFunctions.{action}", "Content-Type": "application/x-amz-json-1.0"})
        SigV4Auth(Credentials("localcloud", "localcloud"), "states", self.region).add_auth(aws_request)
        timeout = min(int(integration.get("timeoutInMillis", 29000)), INTEGRATION_LIMIT_MS) / 1000
        try:
            reply = self._session.post(aws_request.url, data=aws_request.body, headers=dict(aws_request.headers),
                                       timeout=(5, timeout))
        except requests.Timeout:
            raise _Answer(504, "Endpoint request timed out", "INTEGRATION_TIMEOUT") from None
        context["integration"] = {"status": reply.status_code}
        selected = integration["responses"]["default"]
        for pattern, candidate in integration["responses"].items():
            if pattern != "default" and re.fullmatch(pattern, str(reply.status_code)):
                selected = candidate
        template = selected.get("responseTemplates", {}).get("application/json")
        try:
            text = render(template, body=reply.text, context=context, params=params) if template else reply.text
        except TemplateFailed:
            raise _Answer(500, "Internal server error", "DEFAULT_5XX") from None
        status = context["responseOverride"]["status"] or int(selected["statusCode"])
        return Response(text, status=int(status), content_type="application/json")

    def _gateway_error(self, body: dict, context: dict, answer: _Answer) -> Response:
        responses = body.get("x-amazon-apigateway-gateway-responses", {})
        family = "DEFAULT_4XX" if answer.status < 500 else "DEFAULT_5XX"
        chosen = responses.get(answer.kind) or responses.get(family) or {}
        status = int(chosen.get("statusCode") or answer.status)
        context["error"] = {"message": answer.message, "messageString": json.dumps(answer.message),
                            "responseType": answer.kind or family}
        template = chosen.get("responseTemplates", {}).get("application/json")
        text = render(template, body="", context=context) if template else json.dumps({"message": answer.message})
        return Response(text, status=status, content_type="application/json")

    def _access_log(self, api_id: str, stage: str, context: dict) -> None:
        settings = (self.deployed.stages.get((api_id, stage)) or {}).get("accessLogSettings") or {}
        if not settings.get("destinationArn"):
            return
        group = settings["destinationArn"].split(":log-group:", 1)[1].removesuffix(":*")

        def value(match: re.Match) -> str:
            current: Any = context
            for step in match[1].split("."):
                current = current.get(step, "-") if isinstance(current, dict) else "-"
            return "-" if current is None or isinstance(current, dict) else json.dumps(current)[1:-1] \
                if isinstance(current, str) else str(current)

        line = re.sub(r"\$context\.([A-Za-z.]+[A-Za-z])", value, settings.get("format", ""))
        put_log_events(self.account, self.region, group, f"{api_id}/{stage}", [(now_ms(), line)])


# -- provisioning (localcloud/mocks.py): what the program deploys is recorded for the server ------------------

def provision_rest_api(mocks, name: str, inputs: dict):
    """Created in API Gateway (an id; GetRestApis lists it); its body is what the server serves."""
    from harness.fake_cloud import physical_name
    api = mocks.c["apigateway"].create_rest_api(name=physical_name(name, inputs),
                                                description=inputs.get("description", ""))
    mocks.apis.apis[api["id"]] = json.loads(inputs["body"])
    return api["id"], {"name": api["name"], "rootResourceId": api.get("rootResourceId", ""),
                       "arn": f"arn:aws:apigateway:us-east-1::/restapis/{api['id']}",
                       "executionArn": f"arn:aws:execute-api:us-east-1:123456789012:{api['id']}"}


def provision_stage(mocks, name: str, inputs: dict):
    api_id, stage = inputs["restApi"], inputs["stageName"]
    mocks.apis.stages[(api_id, stage)] = inputs
    return f"ags-{api_id}-{stage}", {"invokeUrl": f"{mocks.api_endpoint}/{stage}",
                                     "executionArn": f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/{stage}"}


def provision_method_settings(mocks, name: str, inputs: dict):
    """Recorded for the server, which enforces their throttling (localcloud.api_throttle)."""
    api_id, stage = inputs["restApi"], inputs["stageName"]
    mocks.apis.method_settings.setdefault((api_id, stage), {})[inputs["methodPath"]] = inputs.get("settings") or {}
    return f"{api_id}-{stage}-{inputs['methodPath']}", {}


def provision_permission(mocks, name: str, inputs: dict):
    """A statement of a function's resource policy, which the server checks before it invokes an authorizer."""
    mocks.apis.permissions.append(dict(inputs))
    return inputs.get("statementId") or f"{name}-{len(mocks.apis.permissions)}", {}


PROVISIONERS = {"aws:apigateway/restApi:RestApi": provision_rest_api, "aws:apigateway/stage:Stage": provision_stage,
                "aws:apigateway/methodSettings:MethodSettings": provision_method_settings,
                "aws:lambda/permission:Permission": provision_permission}
