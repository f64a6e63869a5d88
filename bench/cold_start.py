"""Cold start: how long a fresh interpreter takes to import each handler with its dependencies, from the very
archives the program deploys (its code archive and the dependency layer, unpacked as Lambda unpacks them to
/var/task and /opt), and the archives' sizes.

As on Lambda, the handler's and the layer's modules are compiled at every cold start (the archives hold no .pyc
and Lambda's file system is read-only), while the runtime's own modules (the standard library, boto3) are
precompiled: a first, untimed import writes bytecode for those into a private cache (PYTHONPYCACHEPREFIX), the
archives' bytecode is then deleted from it, and the timed imports only read it. Each import is checked to have
loaded the handler's packages from the code archive and the layer's from the layer, not from the virtualenv."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.report import emit, say
from harness.program import run_program

FULL = {"repeats": 9}
QUICK = {"repeats": 3}
_IMPORT = """
import importlib, json, sys, time
start, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[1])
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"import_s": elapsed, "cpu_s": cpu, "files": {name: getattr(module, "__file__", None)
                                                 for name, module in sys.modules.items()}}))
"""


def run(repeats: int) -> dict:
    program = run_program("dev")
    layer_archive = Path(program.one("aws:lambda/layerVersion:LayerVersion").inputs["code"].path)
    functions = sorted(program.of_type("aws:lambda/function:Function"), key=lambda f: f.inputs["handler"])
    say(f"cold start: import of each handler in a fresh {sys.implementation.name} {sys.version.split()[0]}"
        f" interpreter, median of {repeats}")
    figures: dict = {"repeats": repeats, "python": sys.version.split()[0], "handlers": {}}
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as temp:
        layer = _unpack(layer_archive, Path(temp) / "opt")
        cache = Path(temp) / "bytecode"
        figures["layer_bytes"] = layer_archive.stat().st_size
        figures["layer_unzipped_bytes"] = _unzipped_size(layer_archive)
        for function in functions:
            module = function.inputs["handler"].rsplit(".", 1)[0]
            name = module.split(".")[0]
            archive = Path(function.inputs["code"].path)
            code = _unpack(archive, Path(temp) / name)
            environment = {**function.inputs.get("environment", {}).get("variables", {}),
                           "AWS_LAMBDA_FUNCTION_NAME": function.name}
            _import_once(module, code, layer / "python", environment, cache, write_bytecode=True)
            # The runtime's bytecode stays cached; the archives' goes, so that every timed import compiles them.
            shutil.rmtree(cache / Path(temp).relative_to("/"), ignore_errors=True)
            runs = [_import_once(module, code, layer / "python", environment, cache) for _ in range(repeats)]
            figures["handlers"][name] = {
                "import_ms": round(statistics.median(wall for wall, _ in runs) * 1000, 1),
                # CPU time stays put when other tenants of a shared machine take the processor for a while.
                "import_cpu_ms": round(statistics.median(cpu for _, cpu in runs) * 1000, 1),
                "archive_bytes": archive.stat().st_size,
            }
            say(f"  {name:<22} {figures['handlers'][name]['import_ms']:7.1f} ms"
                f" ({figures['handlers'][name]['import_cpu_ms']:5.1f} ms CPU)   code archive"
                f" {archive.stat().st_size / 1024:7.1f} KiB")
    say(f"  dependency layer: {figures['layer_bytes'] / 1024:.0f} KiB zipped,"
        f" {figures['layer_unzipped_bytes'] / 1024:.0f} KiB unzipped")
    figures["max_import_ms"] = max(h["import_ms"] for h in figures["handlers"].values())
    figures["max_import_cpu_ms"] = max(h["import_cpu_ms"] for h in figures["handlers"].values())
    figures["max_archive_bytes"] = max(h["archive_bytes"] for h in figures["handlers"].values())
    return emit("cold_start", figures)


def _unpack(archive: Path, target: Path) -> Path:
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(target)
    return target


def _unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zipped:
        return sum(info.file_size for info in zipped.infolist())


def _import_once(module: str, code: Path, layer: Path, environment: dict[str, str], cache: Path,
                 write_bytecode: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds of the import."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(code), str(layer)]),
           "PYTHONPYCACHEPREFIX": str(cache), "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           **environment}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run([sys.executable, "-c", _IMPORT, module], env=env, cwd=code, capture_output=True,
                            text=True, check=True)
    report = json.loads(result.stdout.splitlines()[-1])
    _check_origins(report["files"], {code: _top_level(code), layer: _top_level(layer)})
    return report["import_s"], report["cpu_s"]


def _top_level(directory: Path) -> set[str]:
    return {path.stem if path.suffix == ".py" else path.name for path in directory.iterdir()
            if path.is_dir() or path.suffix == ".py"}


def _check_origins(files: dict[str, str | None], sources: dict[Path, set[str]]) -> None:
    """Every loaded module of a package the archives ship came from the archive (not from the virtualenv)."""
    for name, file in files.items():
        for directory, packages in sources.items():
            if name.split(".")[0] in packages and file is not None and not file.startswith(str(directory)):
                raise AssertionError(f"{name} was imported from {file}, not from {directory}")
