"""API Gateway's mapping templates, evaluated offline by a real Velocity engine (airspeed) with the variables API
Gateway gives a template: `$input` (body, json, path, params), `$util` (escapeJavaScript, parseJson, ...),
`$context` (with responseOverride) and `$stageVariables`.

Where airspeed differs from API Gateway's (Java) Velocity, it is made to behave as Java does, for the whole
process, when this module is imported:
- string literals are taken as written: Velocity does not unescape backslashes (airspeed turns "\\\\'" into "\\'",
  which would make the documented `.replaceAll("\\\\'","'")` a no-op);
- String.matches is a whole-string match (airspeed's matches at the start only).
An undefined reference renders as written in both."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, unquote

import airspeed

_NEVER = re.compile(r"(?!)")
airspeed.StringLiteral.ESCAPED_CHAR = _NEVER
airspeed.InterpolatedStringLiteral.ESCAPED_CHAR = _NEVER
airspeed.__additional_methods__[str].update({
    "matches": lambda self, pattern: re.fullmatch(pattern, self) is not None,
    "substring": lambda self, start, end=None: self[start:end],
    "equals": lambda self, other: self == other,
    "toString": lambda self: self,
    "isEmpty": lambda self: len(self) == 0,
    "trim": lambda self: self.strip(" \t\n\r\x0b\x0c\x00"),
})


class TemplateFailed(RuntimeError):
    """A template could not be evaluated: API Gateway answers 500 (a configuration error)."""


def escape_javascript(value: Any) -> str:
    """Apache Commons Lang 2's StringEscapeUtils.escapeJavaScript, which `$util.escapeJavaScript` is: ", \\, ' and /
    backslash-escaped, control characters as \\b \\n \\t \\f \\r or \\u00XX, and every character above 0x7f as
    \\uXXXX of its UTF-16 code units (upper-case hex)."""
    text = "null" if value is None else str(value)
    out = []
    for char in text:
        code = ord(char)
        if code > 0x7F:
            units = char.encode("utf-16-be", "surrogatepass")
            out.extend(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04X}" for i in range(0, len(units), 2))
        elif char in "\"\\'/":
            out.append("\\" + char)
        elif code < 32:
            out.append({"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}.get(char, f"\\u{code:04X}"))
        else:
            out.append(char)
    return "".join(out)


class Util:
    def escapeJavaScript(self, value: Any) -> str:  # noqa: N802 (API Gateway's names)
        return escape_javascript(value)

    def parseJson(self, text: str) -> Any:  # noqa: N802
        return json.loads(text)

    def urlEncode(self, text: str) -> str:  # noqa: N802
        return quote(text, safe="")

    def urlDecode(self, text: str) -> str:  # noqa: N802
        return unquote(text)


_MISSING = object()


def json_path(document: Any, path: str) -> Any:
    """The JSONPath subset templates here use: `$`, then `.name` steps."""
    if not re.fullmatch(r"\$(\.[A-Za-z_][A-Za-z0-9_]*)*", path):
        raise TemplateFailed(f"localcloud evaluates JSONPath of the form $.a.b only, not {path!r}")
    value = document
    for step in path.split(".")[1:]:
        if not isinstance(value, dict) or step not in value:
            return _MISSING
        value = value[step]
    return value


class Input:
    """`$input`: the body (request or integration response) and the request's parameters."""

    def __init__(self, body: str, params: dict[str, dict[str, str]] | None = None):
        self.body = body
        self._params = params or {"path": {}, "querystring": {}, "header": {}}

    def _document(self) -> Any:
        try:
            return json.loads(self.body) if self.body.strip() else {}
        except ValueError as error:
            raise TemplateFailed(f"the body is not JSON: {error}") from None

    def json(self, path: str) -> str | None:
        value = json_path(self._document(), path)
        return None if value is _MISSING else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def path(self, path: str) -> Any:
        value = json_path(self._document(), path)
        return "" if value is _MISSING else value

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            if name in self._params.get(where, {}):
                return self._params[where][name]
        return ""


def render(template: str, *, body: str, context: dict, stage_variables: dict | None = None,
           params: dict | None = None) -> str:
    """The template's output; `context` (with its responseOverride) is changed as the template sets it."""
    namespace = {"input": Input(body, params), "util": Util(), "context": context,
                 "stageVariables": stage_variables or {}}
    try:
        return airspeed.Template(template).merge(namespace)
    except airspeed.TemplateError as error:
        raise TemplateFailed(str(error)) from None
