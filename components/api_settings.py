"""The HTTP API's settings (components/settings.py declares them): who may call it, and for jwt, the issuer and
audience of its tokens."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from components.setting_errors import fail

HTTP_API_AUTHORIZATIONS = ("iam", "jwt", "none")


def api_authorization(key: str, raw: str) -> str:
    if raw.strip() in HTTP_API_AUTHORIZATIONS:
        return raw.strip()
    raise fail(key, raw, "expected iam (SigV4-signed requests), jwt (a bearer token of httpApiJwtIssuer for "
                          "httpApiJwtAudience) or none (anonymous: the policy pack reports it)")


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def jwt_issuer(key: str, raw: str) -> str:
    """The issuer's URL exactly as its tokens' `iss` claim reads (its discovery document is under it)."""
    value = raw.strip()
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if value == "" or (parts and host and not parts.query and not parts.fragment and not parts.username
                       and (parts.scheme == "https" or (parts.scheme == "http" and _loopback(host)))):
        return value
    raise fail(key, raw, "expected the issuer's https URL, as its tokens' iss claim reads (its discovery document "
                          "is <issuer>/.well-known/openid-configuration), e.g. "
                          "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123; http only for a loopback "
                          "issuer (localcloud's tests); empty without jwt")


def jwt_audience(key: str, raw: str) -> str:
    value = raw.strip()
    if value == "" or (len(value) <= 256 and value.isprintable() and not any(c.isspace() for c in value)):
        return value
    raise fail(key, raw, "expected the audience the tokens must name in their aud claim (1 to 256 characters, no "
                          "spaces; e.g. the app client id); empty without jwt")
