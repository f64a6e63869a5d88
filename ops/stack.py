"""Where the deployed stack is: its outputs, from a JSON file (what `python -m localcloud serve` writes, or what
`pulumi stack output --json` prints) or through Pulumi's Automation API, and the AWS clients that reach it (an
emulator's endpoint with `--endpoint-url`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_OUTPUTS = ("OrdersTableName", "ProjectorDlqUrl", "OpsStateMachineArn", "OpsDriverFunctionName",
                    "OpsReadSideFunctionName")
LOCAL_CREDENTIALS = {"aws_access_key_id": "localcloud", "aws_secret_access_key": "localcloud"}


class StackError(RuntimeError):
    """The stack's outputs cannot be found or are incomplete; the message says what to do."""


def localcloud_outputs_path(stack: str) -> Path:
    """Where `python -m localcloud serve --stack NAME` writes the stack's outputs while it serves."""
    return ROOT / ".localcloud" / f"{stack}-outputs.json"


def write_outputs_file(path: Path, stack: str, endpoint: str, region: str, outputs: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"stack": stack, "endpoint": endpoint, "region": region, "outputs": outputs},
                                    indent=2) + "\n")
    temporary.replace(path)


@dataclass(frozen=True)
class Target:
    stack: str
    outputs: dict
    region: str | None
    endpoint_url: str | None

    def client(self, service: str, **config):
        import boto3
        from botocore.config import Config

        session = boto3.Session(region_name=self.region)
        credentials = LOCAL_CREDENTIALS if self.endpoint_url and session.get_credentials() is None else {}
        return session.client(service, endpoint_url=self.endpoint_url, config=Config(**config), **credentials)


def resolve(stack: str, outputs_file: Path | None, endpoint_url: str | None, region: str | None) -> Target:
    if outputs_file is None and endpoint_url:
        outputs_file = localcloud_outputs_path(stack)
        if not outputs_file.is_file():
            raise StackError(f"no outputs of stack {stack!r} at {outputs_file}: start `python -m localcloud serve "
                             f"--stack {stack}` first, or pass --outputs FILE")
    if outputs_file is not None:
        outputs, file_region, file_endpoint = _from_file(outputs_file)
        endpoint_url = endpoint_url or file_endpoint
    else:
        outputs, file_region = _from_pulumi(stack)
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise StackError(f"stack {stack!r} has no output {', '.join(missing)}: deploy the current program first "
                         "(pulumi up)")
    return Target(stack, outputs, region or file_region, endpoint_url)


def _from_file(path: Path) -> tuple[dict, str | None, str | None]:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise StackError(f"cannot read the outputs file {path}: {error.strerror}") from None
    except ValueError as error:
        raise StackError(f"the outputs file {path} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise StackError(f"the outputs file {path} must hold a JSON object")
    if isinstance(data.get("outputs"), dict):  # localcloud serve's file
        return data["outputs"], data.get("region"), data.get("endpoint")
    return data, None, None  # `pulumi stack output --json`


def _from_pulumi(stack: str) -> tuple[dict, str | None]:
    try:
        from pulumi import automation
    except ImportError as error:  # pragma: no cover - the SDK is a requirement
        raise StackError(f"Pulumi's Automation API is not available: {error}") from None
    try:
        selected = automation.select_stack(stack_name=stack, work_dir=str(ROOT))
        outputs = {name: value.value for name, value in selected.outputs().items()}
        region = selected.get_all_config().get("aws:region")
    except Exception as error:  # the CLI missing, not logged in, no such stack: all mean "cannot find it"
        first = " ".join(str(error).split())[:300]
        raise StackError(f"cannot read stack {stack!r} through the Pulumi CLI ({first}); pass --outputs FILE "
                         "(pulumi stack output --json > FILE) instead") from None
    return outputs, region.value if region is not None else None
