"""A test OpenID issuer on 127.0.0.1: its discovery document and JWKS served over HTTP (loopback only: the
authorizer fetches https from anything else), keys generated with cryptography, and tokens signed as a real
issuer signs them, or wrongly (expired, another audience or issuer, another key, alg none)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "cqrs-orders-api"


class Issuer:
    def __init__(self) -> None:
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not in the JWKS
        self.requests: Counter[str] = Counter()
        self.available = True
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                issuer.requests[self.path] += 1
                documents = {"/.well-known/openid-configuration": {"issuer": issuer.url,
                                                                   "jwks_uri": issuer.url + "/jwks.json"},
                             "/jwks.json": issuer.jwks()}
                if not issuer.available or self.path not in documents:
                    self.send_response(503 if self.path in documents else 404)
                    self.end_headers()
                    return
                body = json.dumps(documents[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Issuer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def jwks(self) -> dict:
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key()))
        return {"keys": [rsa_jwk | {"kid": "rsa-1", "use": "sig", "alg": "RS256"},
                         ec_jwk | {"kid": "ec-1", "use": "sig", "alg": "ES256"}]}

    def claims(self, **changes) -> dict:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": f"user-{uuid.uuid4().hex[:6]}", "iat": now,
                  "nbf": now, "exp": now + 300, "scope": "orders"}
        return {k: v for k, v in (claims | changes).items() if v is not None}

    def token(self, alg: str = "RS256", kid: str | None = None, key=None, **changes) -> str:
        """A token of the issuer (changes: claims to replace; None removes one)."""
        if key is None:
            key = self.ec_key if alg == "ES256" else self.rsa_key
        kid = kid or ("ec-1" if alg == "ES256" else "rsa-1")
        return jwt.encode(self.claims(**changes), key, algorithm=alg, headers={"kid": kid})

    def unsigned_token(self, **changes) -> str:
        """alg none: no signature at all."""
        return jwt.encode(self.claims(**changes), None, algorithm="none", headers={"kid": "rsa-1"})
