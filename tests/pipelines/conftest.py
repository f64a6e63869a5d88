"""A throwaway Pulumi project and a fake `pulumi` executable per test (see fake_pulumi.py)."""

from __future__ import annotations

import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from pipelines.__main__ import main

FAKE_SOURCE = Path(__file__).with_name("fake_pulumi.py")

# Shaped like the real Pulumi.dev.yaml, with a snapshot setting a review stack must override.
DEV_SETTINGS = """\
config:
  aws:region: eu-west-1
  cqrs-orders:auroraMinCapacity: "0"
  cqrs-orders:auroraSecondsUntilAutoPause: 300
  cqrs-orders:deletionProtection: false
  cqrs-orders:skipFinalSnapshot: false
  cqrs-orders:privateSubnetIds:
    - subnet-a
    - subnet-b
  cqrs-orders:alarmEmail:
    secure: v1:c2FsdA==:Y2lwaGVydGV4dA==
"""

PROD_SETTINGS = """\
config:
  aws:region: eu-west-1
  cqrs-orders:deletionProtection: "true"
"""


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


class FakePulumi:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.home = tmp_path / "fake-home"
        self.home.mkdir()
        self.root = tmp_path / "cli"
        executable = self.root / "bin" / "pulumi"
        executable.parent.mkdir(parents=True)
        executable.write_text(f"#!{sys.executable}\n" + FAKE_SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
        executable.chmod(executable.stat().st_mode | stat.S_IXUSR)

        self.work_dir = tmp_path / "project"
        (self.work_dir / "policy").mkdir(parents=True)
        (self.work_dir / "Pulumi.yaml").write_text("name: cqrs-orders\nruntime: python\n", encoding="utf-8")
        (self.work_dir / "Pulumi.dev.yaml").write_text(DEV_SETTINGS, encoding="utf-8")
        (self.work_dir / "Pulumi.prod.yaml").write_text(PROD_SETTINGS, encoding="utf-8")
        # Like the real pack: the CLI runs it with policy/venv, which a checkout must create (as deploy.yml does).
        (self.work_dir / "policy" / "PulumiPolicy.yaml").write_text(
            "runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n", encoding="utf-8"
        )
        self.pack_python = self.work_dir / "policy" / "venv" / "bin" / "python"
        self.pack_python.parent.mkdir(parents=True)
        self.pack_python.symlink_to(sys.executable)
        for stack in ("dev", "prod"):
            (self.work_dir / "policy" / f"config.{stack}.json").write_text("{}\n", encoding="utf-8")

        self.passphrase = "pass-" + secrets.token_hex(12)
        self.backend = f"file://{tmp_path / 'state'}"
        for name in list(os.environ):
            # A developer's or CI's own credentials must not leak into what the fake CLI records.
            if name.startswith(("FAKE_PULUMI_", "PULUMI_", "AWS_", "PIPELINES_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("FAKE_PULUMI_HOME", str(self.home))
        monkeypatch.setenv("PATH", os.pathsep.join([str(executable.parent), "/usr/bin", "/bin"]))
        monkeypatch.setenv("PULUMI_BACKEND_URL", self.backend)
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", self.passphrase)

    def seed(self, stack: str, *, results: tuple[str, ...] = (), outputs: Optional[dict[str, Any]] = None) -> None:
        """Put a stack into the fake backend, with past updates ending in `results` (oldest first)."""
        state = self.state()
        history = [
            {
                "version": i + 1,
                "kind": "update",
                "startTime": "2025-01-01T00:00:00.000000Z",
                "endTime": "2025-01-01T00:01:00.000000Z",
                "message": "",
                "environment": {},
                "config": {},
                "result": result,
                "resourceChanges": {"create": 1},
            }
            for i, result in enumerate(results)
        ]
        state["stacks"][stack] = {"history": history, "outputs": outputs or {}, "config": {}}
        (self.home / "state.json").write_text(json.dumps(state), encoding="utf-8")

    def state(self) -> dict[str, Any]:
        path = self.home / "state.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"stacks": {}, "current": None}

    def knob(self, name: str, value: Any) -> None:
        self.monkeypatch.setenv(f"FAKE_PULUMI_{name}", json.dumps(value) if not isinstance(value, str) else value)

    def records(self) -> list[dict[str, Any]]:
        path = self.home / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def calls(self) -> list[list[str]]:
        """Every argv the fake received; the SDK's random --event-log path becomes <event-log>."""
        normalized = []
        for record in self.records():
            argv = list(record["argv"])
            if "--event-log" in argv:
                i = argv.index("--event-log") + 1
                assert Path(argv[i]).name == "eventlog.txt"
                argv[i] = "<event-log>"
            normalized.append(argv)
        return normalized

    def run(self, *argv: str) -> Run:
        self.capsys.readouterr()
        code = main([*argv, "--work-dir", str(self.work_dir)])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> FakePulumi:
    return FakePulumi(tmp_path, monkeypatch, capsys)
