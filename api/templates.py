"""The mapping templates (Velocity, as API Gateway REST APIs run them) that make each route a StartSyncExecution of
the order workflow and its answer the HTTP response. Generated from the route table, one line each (no stray
whitespace reaches a body), using only what API Gateway's Velocity and airspeed (localcloud) evaluate alike:
`#set`, `#if`, `==`, `+` on strings and integers, and `$input`, `$util`, `$context`, `$stageVariables`.

Request: the inbound event is built as EventBridge builds it (`id` = the request id, `time` = the request's time
in ISO-8601 UTC, the route's `command`/`query` and the request's fields as `detail`), escaped into
StartSyncExecution's `input` string. Response: the execution's output (or a system fault's cause) is the workflow's
response detail, sent as it is; its status follows routes.COMMAND_STATUS, REJECTION_STATUS and queryStatus."""

from __future__ import annotations

import json

from api.routes import (COMMAND_STATUS, FAULT_STATUS, INTEGRATION_TIMEOUT_MS, MAX_INPUT_BYTES, QUERY_STATUSES,
                        REJECTION_STATUS, Field, Route)
from statemachine.definition import SOURCE

# escapeJavaScript also escapes ' (as \'), which JSON does not allow: the documented fix.
_UNQUOTE = '.replaceAll("\\\\\'","\'")'


def _escaped(reference: str) -> str:
    """A VTL expression: the reference's text escaped for inside a JSON string."""
    return f"$util.escapeJavaScript({reference}){_UNQUOTE}"


def _literal(text: str) -> str:
    """A VTL single-quoted literal (taken as it is, no interpolation)."""
    if "'" in text:
        raise ValueError(f"no single quote in a static template part: {text!r}")
    return f"'{text}'"


def _field(field: Field) -> str:
    """Appends `,"name":<value>` to $detail, or nothing for an absent optional query parameter."""
    var = f"$f_{field.request_name}"  # one variable per field: a #set to null keeps the previous value
    key = _literal(f',{json.dumps(field.name)}:')
    if field.source == "body":
        # A missing property gives null (or, in some engines, an empty string): either way JSON null, which the
        # workflow rejects as a missing field.
        return (f"#set({var} = $input.json('$.{field.request_name}'))"
                f"#if(!{var} || {var} == \"\")#set({var} = 'null')#end"
                f"#set($detail = $detail + {key} + {var})")
    getter = "path" if field.source == "path" else "querystring"
    read = f"#set({var} = $input.params().{getter}.get('{field.request_name}'))"
    as_string = f"#set($detail = $detail + {key} + '\"' + {_escaped(var)} + '\"')"
    if field.source == "query-integer":
        # An integer when it reads as one (the contract's type); any other text as a string, which the query
        # function rejects naming the parameter.
        value = (f"#if({var}.matches(\"0|[1-9][0-9]{{0,8}}\"))#set($detail = $detail + {key} + {var})"
                 f"#else{as_string}#end")
    else:
        value = as_string
    if field.required:
        return read + value
    return read + f"#if({var} || {var} == \"\"){value}#end"  # present, even empty


# The request's time (epoch milliseconds) as ISO-8601 UTC, by integer arithmetic (days to civil date).
_TIME = "".join((
    "#set($t_s = $context.requestTimeEpoch / 1000)#set($t_z = $t_s / 86400 + 719468)#set($t_sec = $t_s % 86400)",
    "#set($t_era = $t_z / 146097)#set($t_doe = $t_z - $t_era * 146097)",
    "#set($t_yoe = ($t_doe - $t_doe / 1460 + $t_doe / 36524 - $t_doe / 146096) / 365)",
    "#set($t_y = $t_yoe + $t_era * 400)#set($t_doy = $t_doe - (365 * $t_yoe + $t_yoe / 4 - $t_yoe / 100))",
    "#set($t_mp = (5 * $t_doy + 2) / 153)#set($t_d = $t_doy - (153 * $t_mp + 2) / 5 + 1)",
    "#if($t_mp < 10)#set($t_m = $t_mp + 3)#else#set($t_m = $t_mp - 9)#end#if($t_m <= 2)#set($t_y = $t_y + 1)#end",
    "#set($t_h = $t_sec / 3600)#set($t_min = $t_sec % 3600 / 60)#set($t_ss = $t_sec % 60)",
    "#set($time = \"$t_y\")",
    # Interpolation, not +: API Gateway's Velocity adds a string and a number, airspeed (Python) does not.
    *(f'#if(${v} < 10)#set($time = "${{time}}{sep}0${{{v}}}")#else#set($time = "${{time}}{sep}${{{v}}}")#end'
      for v, sep in (("t_m", "-"), ("t_d", "-"), ("t_h", "T"), ("t_min", ":"), ("t_ss", ":"))),
    '#set($time = "${time}Z")',
))


def request_template(route: Route, region: str) -> str:
    """The StartSyncExecution request for `route` (the state machine from the stage variable stateMachineArn)."""
    name, value = route.constant
    detail = f"#set($detail = {_literal('{' + json.dumps(name) + ':' + json.dumps(value))})" \
        + "".join(_field(f) for f in route.fields) + "#set($detail = $detail + '}')"
    envelope = ("#set($event = '{\"version\":\"0\",\"id\":\"' + $context.requestId + "
                + _literal(f'","detail-type":"{route.detail_type}","source":"{SOURCE}","account":"')
                + " + $context.accountId + '\",\"time\":\"' + $time + "
                + _literal(f'","region":"{region}","resources":[],"detail":') + " + $detail + '}')")
    request = ('{"stateMachineArn":"$stageVariables.stateMachineArn","name":"$context.requestId",'
               f'"input":"{_escaped("$event")}"}}')
    return _TIME + detail + envelope + request


def _status_of_answer() -> str:
    """Sets $code from the parsed answer $r."""
    rules = [(f'$r.commandStatus == "{status}"', code) for status, code in COMMAND_STATUS.items()]
    rules += [(f'$r.commandStatus == "rejected" && $r.reason == "{reason}"', code)
              for reason, code in REJECTION_STATUS.items()]
    rules += [(f"$r.queryStatus == {code}", code) for code in QUERY_STATUSES]
    chain = "".join(f"#{'if' if i == 0 else 'elseif'}({test})#set($code = {code})" for i, (test, code) in enumerate(rules))
    return f"#set($code = {FAULT_STATUS}){chain}#end"


def _error(message: str) -> str:
    return json.dumps({"message": message}, separators=(",", ":"))[:-1] + ',"requestId":"$context.requestId"}'


# StartSyncExecution answered (200): the workflow's answer, or a 500 when it ended with none (a timeout, an
# unexpected failure).
RESPONSE_TEMPLATE = "".join((
    "#set($answer = '')#set($status = $input.path('$.status'))",
    "#if($status == \"SUCCEEDED\")#set($answer = $input.path('$.output'))",
    "#elseif($status == \"FAILED\" && $input.path('$.error') == \"SystemFault\")#set($answer = $input.path('$.cause'))",
    "#end",
    "#if($answer != '')#set($r = $util.parseJson($answer))", _status_of_answer(),
    "#set($context.responseOverride.status = $code)$answer",
    f"#else#set($context.responseOverride.status = {FAULT_STATUS})",
    _error("the workflow ended without an answer; its failure is in the state machine's logs"), "#end",
))

# Step Functions refused to start the execution: the input over its quota is the client's (413), throttling is
# 429, anything else is the stack's fault.
REFUSED_TEMPLATE = "".join((
    f"#if($input.body.contains(\"{MAX_INPUT_BYTES}\"))#set($context.responseOverride.status = 413)",
    _error(f"the request is too large: with its event envelope it must fit Step Functions' input quota of "
           f"{MAX_INPUT_BYTES} bytes"),
    "#elseif($input.body.contains(\"Throttling\"))#set($context.responseOverride.status = 429)",
    _error("too many requests: retry later"),
    f"#else#set($context.responseOverride.status = {FAULT_STATUS})",
    _error("the workflow could not be started; retry later"), "#end",
))

GATEWAY_ERROR_TEMPLATE = '{"message":$context.error.messageString,"requestId":"$context.requestId"}'
TIMEOUT_TEMPLATE = _error(
    f"the workflow did not answer within {INTEGRATION_TIMEOUT_MS // 1000} s: it goes on, and publishes its response "
    "event on the bus, whose commandMessageId or queryMessageId is this requestId")
