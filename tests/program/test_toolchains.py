"""The program builds the same, byte-identical layer whatever made its virtualenv: pip, uv or poetry (the three
toolchains of Pulumi's Python runtime, `runtime.options.toolchain` in Pulumi.yaml).

Each test copies the project (as a fresh checkout: no build/ cache), makes a virtualenv the way that toolchain
does, installs requirements.txt, runs the real program under the mock runtime with that virtualenv's python (the
harness needs PyYAML too) and compares the layer it built with the layer of this test process. They download
packages and the layer's wheels from PyPI, so they are slow (about 10-40 s each) and run on one worker, beside the
rest of the suite (marker `toolchain`: `-m "not toolchain"` leaves them out).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from uv import find_uv_bin

from components.packaging import dependency_layer

ROOT = Path(__file__).resolve().parents[2]
# The uv binary itself (pinned by ./dev, uv==0.13.9): `python -m uv` would export VIRTUAL_ENV=.venv, and poetry would
# then install into this test process's own virtualenv.
UV = [find_uv_bin()]
POETRY_VERSION = "2.5.1"
HARNESS_REQUIREMENTS = ["PyYAML==6.0.4"]
COPY_IGNORED = shutil.ignore_patterns(".git", ".venv", "venv", "build", "tests", "bench", "localcloud",
                                      "__pycache__", ".pytest_cache", ".hypothesis")
# Runs the program for dev in the copy and prints the layer archive the program registered.
RUN_PROGRAM = ("from harness.program import run_program; "
               "layer = run_program('dev').one('aws:lambda/layerVersion:LayerVersion'); "
               "print(layer.inputs['code'].path)")

pytestmark = [pytest.mark.toolchain, pytest.mark.xdist_group("toolchains")]


def run(command: list, cwd: Path, env: dict | None = None) -> str:
    inherited = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=600,
                            env={**inherited, **(env or {})})
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def project(tmp_path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORED)
    return copy


def layer_built_with(python: Path, project: Path) -> bytes:
    layer = Path(run([python, "-c", RUN_PROGRAM], project).strip().splitlines()[-1])
    assert layer.is_relative_to(project / "build"), layer  # built in the copy, from wheels downloaded there
    return layer.read_bytes()


def has_pip(python: Path, project: Path) -> bool:
    return subprocess.run([python, "-m", "pip", "--version"], cwd=project, capture_output=True).returncode == 0


def test_pip_toolchain(project):
    """`python -m venv`, then pip installs requirements.txt (Pulumi's pip toolchain)."""
    run([sys.executable, "-m", "venv", project / "venv"], project)
    python = project / "venv" / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", "--no-compile", "-r", "requirements.txt", *HARNESS_REQUIREMENTS],
        project)
    assert layer_built_with(python, project) == dependency_layer().path.read_bytes()


def test_uv_virtualenv_without_pip(project):
    """The issue's reproduction: `uv venv`, `uv pip install -r requirements.txt`; the virtualenv has no pip."""
    run([*UV, "venv", "-q", project / "venv"], project)
    python = project / "venv" / "bin" / "python"
    run([*UV, "pip", "install", "-q", "--python", python, "-r", "requirements.txt", *HARNESS_REQUIREMENTS], project)
    assert not has_pip(python, project)
    assert layer_built_with(python, project) == dependency_layer().path.read_bytes()


def test_poetry_toolchain(project):
    """`poetry install` of a pyproject.toml holding requirements.txt's pins (Pulumi's poetry toolchain runs
    `poetry install` and then the python of `poetry env info --path`); poetry itself runs through uv, pinned. The
    source is PyPI's simple index, which pip and uv read: poetry's default source reads PyPI's per-version JSON API,
    which this machine's PyPI access does not serve."""
    pins = [line for line in (project / "requirements.txt").read_text().splitlines() if "==" in line]
    dependencies = ", ".join(f'"{pin}"' for pin in [*pins, *HARNESS_REQUIREMENTS])
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "cqrs-orders"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f"dependencies = [{dependencies}]\n\n[tool.poetry]\npackage-mode = false\n\n"
        '[[tool.poetry.source]]\nname = "pypi-simple"\nurl = "https://pypi.org/simple/"\npriority = "primary"\n')
    poetry = [*UV, "tool", "run", "--from", f"poetry=={POETRY_VERSION}", "poetry"]
    env = {"POETRY_VIRTUALENVS_IN_PROJECT": "true", "POETRY_VIRTUALENVS_PREFER_ACTIVE_PYTHON": "false"}
    run([*poetry, "env", "use", "-q", sys._base_executable], project, env)  # the interpreter, not this virtualenv
    run([*poetry, "install", "--no-ansi", "-q"], project, env)
    venv = Path(run([*poetry, "env", "info", "--path"], project, env).strip())
    assert venv == project / ".venv"
    python = venv / "bin" / "python"
    assert layer_built_with(python, project) == dependency_layer().path.read_bytes()
