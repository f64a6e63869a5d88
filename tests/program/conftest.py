import functools

import pytest

from harness.program import ProgramRun, run_program


@functools.cache
def _run(stack: str) -> ProgramRun:
    return run_program(stack)


@pytest.fixture(params=["dev", "prod"])
def program(request) -> ProgramRun:
    """The real program under the mock runtime, once per stack per test process."""
    return _run(request.param)


@pytest.fixture
def dev() -> ProgramRun:
    return _run("dev")


@pytest.fixture
def prod() -> ProgramRun:
    return _run("prod")
