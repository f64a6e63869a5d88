"""Cold start: how long a fresh interpreter takes to import each handler with its dependencies, from the very
archives the program deploys (its code archive and the dependency layer, unpacked as Lambda unpacks them to
/var/task and /opt), and the archives' sizes.

As on Lambda, the handler's and the layer's modules are compiled at every cold start (the archives hold no .pyc
and Lambda's file system is read-only), while the runtime's own modules (the standard library, boto3) are
precompiled: a first, untimed import writes bytecode for those into a private cache (PYTHONPYCACHEPREFIX), the
archives' bytecode is then deleted from it, and the timed imports only read it. Each import is checked to have
loaded the handler's packages from the code archive and the layer's from the layer, not from the virtualenv.
The interpreter runs without site-packages (`-S`): besides the standard library it sees only what the Lambda Python
runtime itself provides (boto3 and its dependencies, linked from the virtualenv), so that an optional import that
fails on Lambda fails here too (PyMySQL tries `cryptography`, which the virtualenv has and Lambda has not: 35 ms
of every database function's import before this).

Every handler is judged against a reference in the same run: a handler that imports only Powertools' Logger from
the same layer, imported in turns with the others (absolute times move by 40% between runs on a shared machine)."""

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

from bench.report import emit, ratio, say
from harness.program import run_program

FULL = {"repeats": 9}
QUICK = {"repeats": 3}
# The same handler's import time moves by 40% between runs and machines, so each handler is judged against a
# reference imported in the same run, from the same layer: a handler that imports only Powertools' Logger.
REFERENCE = "reference"
REFERENCE_HANDLER = "from aws_lambda_powertools import Logger\n\nlogger = Logger()\n\n\ndef handler(event, context):\n    return None\n"
TARGET_VS_REFERENCE = 1.5
# What a database handler cannot go below: the reference plus `import pymysql`, the driver (from the same layer).
DRIVER_FLOOR = "driver_floor"
DRIVER_FLOOR_HANDLER = REFERENCE_HANDLER.replace("\n\nlogger", "\nimport pymysql  # noqa: F401\n\nlogger", 1)
# What the Lambda Python runtime provides besides the standard library (its bundled SDK and the SDK's dependencies).
LAMBDA_RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
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
        f" interpreter, median of {repeats}, in turns (the reference, then each handler, {repeats} times)")
    figures: dict = {"repeats": repeats, "python": sys.version.split()[0], "handlers": {}}
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as temp:
        layer = _unpack(layer_archive, Path(temp) / "opt") / "python"
        cache = Path(temp) / "bytecode"
        runtime = _lambda_runtime(Path(temp) / "runtime")
        figures["layer_bytes"] = layer_archive.stat().st_size
        figures["layer_unzipped_bytes"] = _unzipped_size(layer_archive)
        subjects = {}
        for name, source in ((REFERENCE, REFERENCE_HANDLER), (DRIVER_FLOOR, DRIVER_FLOOR_HANDLER)):
            (Path(temp) / name / name).mkdir(parents=True)
            (Path(temp) / name / name / "handler.py").write_text(source)
            subjects[name] = (f"{name}.handler", Path(temp) / name, {"AWS_LAMBDA_FUNCTION_NAME": name}, None)
        for function in functions:
            module = function.inputs["handler"].rsplit(".", 1)[0]
            archive = Path(function.inputs["code"].path)
            subjects[module.split(".")[0]] = (
                module, _unpack(archive, Path(temp) / module.split(".")[0]),
                {**function.inputs.get("environment", {}).get("variables", {}),
                 "AWS_LAMBDA_FUNCTION_NAME": function.name}, archive)
        for module, code, environment, _ in subjects.values():
            _import_once(module, code, layer, runtime, environment, cache, write_bytecode=True)
        # The runtime's bytecode stays cached; the archives' goes, so that every timed import compiles them.
        for directory in [layer, *(code for _, code, _, _ in subjects.values())]:
            shutil.rmtree(cache / directory.relative_to("/"), ignore_errors=True)
        # In turns, so that a burst of load elsewhere on the machine falls on every handler alike.
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in subjects}
        for _ in range(repeats):
            for name, (module, code, environment, _) in subjects.items():
                runs[name].append(_import_once(module, code, layer, runtime, environment, cache))
    medians = {name: {"import_ms": round(statistics.median(wall for wall, _ in times) * 1000, 1),
                      # CPU time stays put when other tenants of a shared machine take the processor for a while.
                      "import_cpu_ms": round(statistics.median(cpu for _, cpu in times) * 1000, 1)}
               for name, times in runs.items()}
    figures[REFERENCE] = medians.pop(REFERENCE)
    say(f"  {'reference (Logger)':<22} {figures[REFERENCE]['import_ms']:7.1f} ms"
        f" ({figures[REFERENCE]['import_cpu_ms']:5.1f} ms CPU)")
    floor = figures[DRIVER_FLOOR] = medians.pop(DRIVER_FLOOR)
    floor["vs_reference"] = ratio(floor["import_ms"], figures[REFERENCE]["import_ms"])
    say(f"  {'reference + PyMySQL':<22} {floor['import_ms']:7.1f} ms ({floor['import_cpu_ms']:5.1f} ms CPU)"
        f" {floor['vs_reference']:5.2f} x the reference: the floor of a handler that opens a database connection")
    for name, measured in medians.items():
        archive = subjects[name][3]
        measured["vs_reference"] = ratio(measured["import_ms"], figures[REFERENCE]["import_ms"])
        measured["cpu_vs_reference"] = ratio(measured["import_cpu_ms"], figures[REFERENCE]["import_cpu_ms"])
        measured["archive_bytes"] = archive.stat().st_size
        figures["handlers"][name] = measured
        say(f"  {name:<22} {measured['import_ms']:7.1f} ms ({measured['import_cpu_ms']:5.1f} ms CPU)"
            f" {measured['vs_reference']:5.2f} x the reference ({measured['cpu_vs_reference']:.2f} x by CPU)"
            f"   code archive {archive.stat().st_size / 1024:7.1f} KiB")
    say(f"  dependency layer: {figures['layer_bytes'] / 1024:.0f} KiB zipped,"
        f" {figures['layer_unzipped_bytes'] / 1024:.0f} KiB unzipped")
    figures["max_vs_reference"] = max(h["vs_reference"] for h in figures["handlers"].values())
    worst = [name for name, h in figures["handlers"].items() if h["vs_reference"] > TARGET_VS_REFERENCE]
    say(f"  slowest: {figures['max_vs_reference']} x the reference (target <= {TARGET_VS_REFERENCE} for every"
        f" handler: {'met' if not worst else 'MISSED by ' + ', '.join(worst)})")
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


def _lambda_runtime(directory: Path) -> Path:
    """A directory holding (links to) the packages the Lambda runtime provides, from this interpreter's."""
    import boto3

    site_packages = Path(boto3.__file__).parent.parent
    directory.mkdir()
    for name in LAMBDA_RUNTIME_PACKAGES:
        (directory / name).symlink_to(site_packages / name)
    return directory


def _import_once(module: str, code: Path, layer: Path, runtime: Path, environment: dict[str, str], cache: Path,
                 write_bytecode: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds of the import."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(code), str(layer), str(runtime)]),
           "PYTHONPYCACHEPREFIX": str(cache), "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           **environment}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run([sys.executable, "-S", "-c", _IMPORT, module], env=env, cwd=code, capture_output=True,
                            text=True, check=True)
    report = json.loads(result.stdout.splitlines()[-1])
    _check_origins(report["files"], {code: _top_level(code), layer: _top_level(layer)})
    return report["import_s"], report["cpu_s"]


def _top_level(directory: Path) -> set[str]:
    return {path.stem if path.suffix == ".py" else path.name for path in directory.iterdir()
            if path.is_dir() or path.suffix == ".py"}


def _check_origins(files: dict[str, str | None], sources: dict[Path, set[str]]) -> None:
    """Every loaded module of a package the archives ship came from the archive, and none from site-packages."""
    for name, file in files.items():
        if file is not None and "site-packages" in file:
            raise AssertionError(f"{name} was imported from {file}, which Lambda does not have")
        for directory, packages in sources.items():
            if name.split(".")[0] in packages and file is not None and not file.startswith(str(directory)):
                raise AssertionError(f"{name} was imported from {file}, not from {directory}")
