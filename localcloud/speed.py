"""The emulator's hot paths made as fast as a load run needs, with unchanged semantics.

moto's Step Functions interpreter (ported from LocalStack) parses the state machine's definition with ANTLR again for every
execution, builds a new boto3 client for every task, and compiles each JSONPath again, with a new PLY parser, on
every use: together about half of an execution's CPU time (measured with py-spy on a createOrder run). `install()`
caches the three:
- the definition's parse tree; the evaluation components are still built from it for every execution, as they hold
  an execution's state;
- one client per (region, service): boto3 clients are thread safe once made;
- each compiled JSONPath, which is immutable.
And moto's server lists its own package folder on disk for every request it routes: the list is cached.
"""

from __future__ import annotations

import functools
import importlib
import threading
from typing import Any, Callable

import jsonpath_ng
import jsonpath_ng.ext
from antlr4 import CommonTokenStream, InputStream
from moto import backends
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import boto_client

_PARSER = "moto.stepfunctions.parser"
_TASKS = f"{_PARSER}.asl.component.state.exec.state_task"
# Every module that imported boto_client_for by name (the interpreter calls it from these).
_CLIENT_USERS = [f"{_TASKS}.lambda_eval_utils", *(f"{_TASKS}.service.state_task_service_{name}" for name in (
    "aws_sdk", "batch", "dynamodb", "ecs", "events", "glue", "sfn", "sns", "sqs", "unsupported"))]
_JSONPATH_USERS = {f"{_PARSER}.asl.utils.json_path": jsonpath_ng.ext.parse,
                   f"{_PARSER}.asl.component.common.path.result_path": jsonpath_ng.parse}


@functools.lru_cache(maxsize=32)
def _tree(definition: str):
    """The definition's ANTLR parse tree, as AmazonStateLanguageParser.parse builds it (errors are not cached)."""
    errors = asl_parser.SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
    parser.removeErrorListeners()
    parser.addErrorListener(errors)
    tree = parser.state_machine()
    if errors.errors:
        raise asl_parser.ASLParserException(errors=errors.errors)
    return tree


class _CachedParser(asl_parser.AmazonStateLanguageParser):
    @staticmethod
    def parse(definition: str):
        tree = _tree(definition)
        return Preprocessor().visit(tree), tree


def _cached_clients(make: Callable[..., Any]) -> Callable[..., Any]:
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None):
        with lock:
            if (region, service) not in clients:
                clients[region, service] = make(region, service, state_credentials)
            return clients[region, service]

    return boto_client_for


def install() -> Callable[[], None]:
    """Patch moto; returns the function that restores it."""
    saved: list[tuple[Any, str, Any]] = []

    def patch(module: Any, name: str, value: Any) -> None:
        saved.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    patch(importlib.import_module(f"{_PARSER}.backend.execution_worker"), "AmazonStateLanguageParser", _CachedParser)
    clients = _cached_clients(boto_client.boto_client_for)
    for name in _CLIENT_USERS:
        patch(importlib.import_module(name), "boto_client_for", clients)
    for name, parse in _JSONPATH_USERS.items():
        patch(importlib.import_module(name), "parse", functools.lru_cache(maxsize=4096)(parse))

    modules = tuple(backends.list_of_moto_modules())
    patch(backends, "list_of_moto_modules", lambda: modules)

    def restore() -> None:
        while saved:
            module, name, value = saved.pop()
            setattr(module, name, value)
        _tree.cache_clear()

    return restore
