"""Reproducible Lambda archives: the same inputs give byte-identical zips, so a second preview shows no diff.

Archives are content-addressed files under `build/lambda/` (written atomically, so parallel runs are safe):
- one code archive per function: its own folder plus the shared packages it imports;
- one archive per dependency layer (components/layer_wheels.py `LAYERS`: the shared one of `functions/layer.lock`,
  the JWT authorizer's of `functions/authorizer-layer.lock`), unpacked from the exact wheels its lock names
  (fetched and hash-checked without pip, so any virtualenv builds the same layer).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from components.layer_wheels import SHARED_LAYER, LayerSpec, fetch, read_lock

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
BUILD_DIR = ROOT / "build" / "lambda"
MIGRATIONS_DIR = FUNCTIONS_DIR / "migrations"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED = ("__pycache__", ".pytest_cache")


@dataclass(frozen=True)
class Archive:
    path: Path
    sha256_base64: str  # Lambda's `source_code_hash` format


def _source_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(part in _SKIPPED for part in p.parts) and p.suffix != ".pyc")


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip whose bytes depend only on the entries: sorted names, fixed times and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def _store(stem: str, data: bytes) -> Archive:
    digest = hashlib.sha256(data)
    path = BUILD_DIR / f"{stem}-{digest.hexdigest()[:16]}.zip"
    if not path.exists():
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=BUILD_DIR, delete=False) as temp:
            temp.write(data)
        os.replace(temp.name, path)
    return Archive(path, base64.b64encode(digest.digest()).decode())


def function_archive(name: str, packages: tuple[str, ...], extra_files: dict[str, Path] | None = None) -> Archive:
    """`functions/<name>/` plus the shared `packages` (folders of `functions/`), at the archive root."""
    entries = []
    for package in (name, *packages):
        folder = FUNCTIONS_DIR / package
        if not folder.is_dir():
            raise FileNotFoundError(f"Lambda source folder {folder} does not exist")
        entries += [(p.relative_to(FUNCTIONS_DIR).as_posix(), p.read_bytes()) for p in _source_files(folder)]
    for archive_name, source in (extra_files or {}).items():
        entries.append((archive_name, source.read_bytes()))
    return _store(name, _zip(entries))


def tree_archive(name: str, folders: dict[str, Path], files: dict[str, Path] | None = None) -> Archive:
    """An archive of code kept outside functions/: each folder's files under its archive path (archive path ->
    source folder), and single files (archive name -> source file)."""
    entries = []
    for prefix, folder in folders.items():
        if not folder.is_dir():
            raise FileNotFoundError(f"Lambda source folder {folder} does not exist")
        entries += [(f"{prefix}/{p.relative_to(folder).as_posix()}", p.read_bytes()) for p in _source_files(folder)]
    entries += [(archive_name, source.read_bytes()) for archive_name, source in (files or {}).items()]
    return _store(name, _zip(entries))


def migrations_hash() -> str:
    """Changes whenever a migration file is added, removed or edited: re-runs the deploy-time migration."""
    digest = hashlib.sha256()
    for path in _source_files(MIGRATIONS_DIR):
        digest.update(path.relative_to(MIGRATIONS_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def dependency_layer(layer: LayerSpec = SHARED_LAYER) -> Archive:
    """The layer zip (`python/...`) of the wheels `layer.lock` names, built once per lock file content and cached."""
    key = hashlib.sha256(layer.lock.read_bytes()).hexdigest()[:16]
    cached = sorted(BUILD_DIR.glob(f"layer-{key}-*.zip"))
    if cached:
        return _store(f"layer-{key}", cached[0].read_bytes())
    entries = []
    for wheel in fetch(read_lock(layer.lock)):
        with zipfile.ZipFile(wheel) as archive:
            entries += [(f"python/{info.filename}", archive.read(info)) for info in archive.infolist()
                        if not info.is_dir()]
    return _store(f"layer-{key}", _zip(entries))
