"""Reading IAM policy documents (identity and resource policies): statements, principals, conditions.

Statements come from JSON text as dicts and lists (not the engine's proxies): the document is one string prop."""

from __future__ import annotations

import json
from typing import Any, Optional

from .support import as_list

# Condition keys that tie an open or service principal to this account, organization, network or source resource.
SOURCE_KEYS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths"}
PRINCIPAL_KEYS = {"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn",
                  "aws:sourcevpc", "aws:sourcevpce"}
# In a KMS key policy a service is tied to its source by the encryption context it must present (e.g.
# kms:EncryptionContext:aws:logs:arn) or the service it calls through.
KMS_SOURCE_KEY_PREFIXES = ("kms:encryptioncontext:", "kms:viaservice")


def parse_statements(text: Any) -> Optional[list[dict]]:
    """The document's statements, None when it is not an IAM policy document with a Statement."""
    try:
        statements = as_list(json.loads(text)["Statement"])
    except (TypeError, ValueError, KeyError):
        return None
    return statements if all(isinstance(s, dict) for s in statements) else None


def allowed(statements: list[dict]) -> list[dict]:
    return [s for s in statements if s.get("Effect") == "Allow"]


def actions(statement: dict) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def is_public(statement: dict) -> bool:
    """Whether an Allow statement names every principal: "*", {"AWS": "*"}, or NotPrincipal (all but some)."""
    if "NotPrincipal" in statement:
        return True
    principal = statement.get("Principal")
    return principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))


def services(statement: dict) -> list[str]:
    principal = statement.get("Principal")
    return [s for s in as_list(principal.get("Service")) if isinstance(s, str)] if isinstance(principal, dict) else []


def condition_keys(statement: dict) -> set[str]:
    """Condition keys (lower case) that restrict: not under an ...IfExists operator, with no "*" value."""
    keys = set()
    condition = statement.get("Condition")
    for operator, tests in (condition.items() if isinstance(condition, dict) else []):
        if operator.endswith("IfExists") or not isinstance(tests, dict):
            continue
        keys |= {key.lower() for key, value in tests.items() if "*" not in as_list(value)}
    return keys
