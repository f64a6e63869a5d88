"""The exact wheels of the Lambda dependency layers, fetched without pip: a layer builds the same in any virtualenv.

Each layer (`LayerSpec`: its requirements file and its lock) has a lock naming each wheel of its requirements for
the Lambda platform (python3.12, arm64) by file name, SHA-256 and URL. The program downloads them with the standard
library, checks every hash and keeps them under `build/wheels/`, so a virtualenv made by pip, uv (which installs no
pip) or poetry builds the same, byte-identical layer. The layers (`LAYERS`):

- `SHARED_LAYER`: `functions/requirements.txt` -> `functions/layer.lock`, the layer of every function but the
  authorizer (powertools, pymysql: pure Python; no cryptography, which pymysql would import on every cold start);
- `AUTHORIZER_LAYER`: `functions/authorizer-requirements.txt` -> `functions/authorizer-layer.lock`, the HTTP API's
  JWT authorizer's own layer (powertools, PyJWT, cryptography: binary wheels for arm64).

Regenerate the locks after changing a requirements file (this one step needs pip and PyPI):

    .venv/bin/python -m components.layer_wheels
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL_CACHE = ROOT / "build" / "wheels"
# The Lambda platform the layer's wheels are chosen for (the functions run on arm64, python3.12).
LAYER_PLATFORM = ("manylinux2014_aarch64", "3.12")
PACKAGE_INDEX = "https://pypi.org/simple"
DOWNLOAD_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class LayerSpec:
    """What a dependency layer is built from: its pinned requirements (complete with transitive dependencies) and
    the lock of their wheels, which the layer is built from."""
    requirements: Path
    lock: Path


SHARED_LAYER = LayerSpec(ROOT / "functions" / "requirements.txt", ROOT / "functions" / "layer.lock")
AUTHORIZER_LAYER = LayerSpec(ROOT / "functions" / "authorizer-requirements.txt",
                             ROOT / "functions" / "authorizer-layer.lock")
LAYERS = (SHARED_LAYER, AUTHORIZER_LAYER)


class LayerWheelError(RuntimeError):
    """A wheel cannot be had, or is not the one the lock names; the message is one line naming it."""


@dataclass(frozen=True)
class LockedWheel:
    filename: str
    sha256: str
    url: str

    @property
    def project_and_version(self) -> tuple[str, str]:
        """("aws-lambda-powertools", "3.37.0") from aws_lambda_powertools-3.37.0-py3-none-any.whl."""
        name, version = self.filename.split("-")[:2]
        return normalized_name(name), version


def normalized_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = SHARED_LAYER.lock) -> list[LockedWheel]:
    wheels = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3 or not fields[1].startswith("sha256="):
            raise LayerWheelError(f"{path}:{number}: expected '<wheel file> sha256=<hex> <url>', got {line!r}")
        wheels.append(LockedWheel(fields[0], fields[1].removeprefix("sha256="), fields[2]))
    return wheels


def pinned_requirements(path: Path = SHARED_LAYER.requirements) -> dict[str, str]:
    """Project name -> pinned version of each `name==version` line."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            pins[normalized_name(name)] = version.strip()
    return pins


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(wheels: list[LockedWheel], cache: Path = WHEEL_CACHE) -> list[Path]:
    """Each locked wheel from the cache, or downloaded into it; a wheel whose hash differs is never used."""
    paths = []
    for wheel in wheels:
        path = cache / wheel.filename
        if not (path.is_file() and _sha256(path.read_bytes()) == wheel.sha256):
            try:
                with urllib.request.urlopen(wheel.url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
                    data = response.read()
            except OSError as error:
                raise LayerWheelError(f"could not download {wheel.filename} from {wheel.url}: {error}") from None
            if _sha256(data) != wheel.sha256:
                raise LayerWheelError(f"{wheel.url} does not have the SHA-256 that the layer's lock names "
                                      f"({wheel.sha256}): refusing it")
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cache, delete=False) as temp:
                temp.write(data)
            os.replace(temp.name, path)
        paths.append(path)
    return paths


def _index_url(filename: str, sha256: str) -> str:
    """The package index's URL of the file with this name and hash (PEP 691 JSON simple API)."""
    project = normalized_name(filename.split("-")[0])
    request = urllib.request.Request(f"{PACKAGE_INDEX}/{project}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
        files = json.load(response)["files"]
    for file in files:
        if file["filename"] == filename and file["hashes"].get("sha256") == sha256:
            return file["url"]
    raise LayerWheelError(f"{PACKAGE_INDEX}/{project}/ has no {filename} with SHA-256 {sha256}")


def lock_text(requirements: Path = SHARED_LAYER.requirements) -> str:
    """The lock for `requirements`: pip chooses the wheels for the Lambda platform, the index gives their URLs."""
    platform, python_version = LAYER_PLATFORM
    with tempfile.TemporaryDirectory() as temp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                   "--only-binary=:all:", "--platform", platform, "--python-version", python_version,
                   "--implementation", "cp", "-r", str(requirements), "-d", temp]
        subprocess.run(command, check=True)
        lines = [f"{wheel.name} sha256={_sha256(wheel.read_bytes())}" for wheel in sorted(Path(temp).glob("*.whl"))]
    shown = requirements.relative_to(ROOT).as_posix() if requirements.is_relative_to(ROOT) else requirements.name
    header = (f"# The wheels of the Lambda layer (python3.12, arm64) for {shown}: file, SHA-256, URL.\n"
              "# Generated by `.venv/bin/python -m components.layer_wheels`; the program downloads and checks them.\n")
    return header + "".join(f"{line} {_index_url(*line.replace('sha256=', '').split())}\n" for line in lines)


if __name__ == "__main__":
    for layer in LAYERS:
        layer.lock.write_text(lock_text(layer.requirements), encoding="utf-8")
        print(f"wrote {layer.lock.relative_to(ROOT)}")
