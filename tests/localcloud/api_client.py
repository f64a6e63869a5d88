"""A SigV4-signing client of the stack's HTTP API, as a Python user writes one (requests + botocore's signer)."""

from __future__ import annotations

import json

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDENTIALS = Credentials("localcloud", "localcloud")


class SigV4(requests.auth.AuthBase):
    """Signs each request for the service execute-api (what `curl --aws-sigv4` and the AWS SDKs do)."""

    def __init__(self, credentials: Credentials = CREDENTIALS, region: str = "us-east-1"):
        self.credentials, self.region = credentials, region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        signed = AWSRequest(method=request.method, url=request.url, data=body,
                            headers={k: v for k, v in request.headers.items()
                                     if k.lower() in ("content-type", "host")})
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(signed)
        request.headers.update(dict(signed.headers))
        return request


class Api:
    def __init__(self, url: str, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.session = session or requests.Session()

    def call(self, method: str, path: str, body=None, *, sign: bool = True, **kwargs) -> requests.Response:
        if body is not None and "data" not in kwargs:
            kwargs["data"] = json.dumps(body)
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"
        return self.session.request(method, self.url + path, auth=SigV4() if sign else None, timeout=60, **kwargs)

    def create(self, order_id: str, items: list[dict]) -> requests.Response:
        return self.call("POST", "/orders", {"orderId": order_id, "items": items})

    def cancel(self, order_id: str) -> requests.Response:
        return self.call("POST", f"/orders/{requests.utils.quote(order_id, safe='')}/cancel")

    def get(self, order_id: str) -> requests.Response:
        return self.call("GET", f"/orders/{requests.utils.quote(order_id, safe='')}")
