"""The offline cloud: a private MariaDB (Aurora's stand-in, TLS required), a moto server on 127.0.0.1 with Step
Functions execution on, the real program deployed into it, Lambda functions run from their real archives, and
stream and EventBridge delivery with AWS semantics."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import boto3
from botocore.config import Config

from components.database import MASTER_USERNAME as MASTER_USER, PROJECTOR_DB_USER, READER_DB_USER
from harness.program import ProgramRun, run_program, stack_config
from localcloud.eventbridge import EventBridge, utf8_size
from localcloud.lambda_runtime import LambdaRuntime
from localcloud.mariadb import MariaDB, free_port
from localcloud.mocks import LocalCloudMocks, LocalDatabase, Provisioned
from localcloud.streams import Mapping, StreamPoller
from localcloud.tls import self_signed_certificate

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud"}
SERVICES = ("dynamodb", "dynamodbstreams", "events", "iam", "lambda", "logs", "secretsmanager", "sns", "sqs",
            "stepfunctions")
MAX_EXECUTION_INPUT_BYTES = 256 * 1024  # Step Functions' quota on an execution's input, as UTF-8


def _reset_emulated_state() -> None:
    """Forget every emulated resource (as mock_aws does on exit), so a later cloud in this process starts empty."""
    from moto.core.base_backend import BackendDict
    BackendDict.reset()


def _limit_execution_input() -> Callable[[], None]:
    """moto starts an execution whatever its input's size; AWS refuses StartExecution with a ValidationException
    (a client error) when the input exceeds the quota. Returns the function that restores moto."""
    from moto.stepfunctions.exceptions import ValidationException
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(backend, state_machine_arn, name=None, execution_input=None, *args, **kwargs):
        if utf8_size(execution_input or "") > MAX_EXECUTION_INPUT_BYTES:
            raise ValidationException("1 validation error detected: Value at 'input' failed to satisfy constraint: "
                                      f"Member must have length less than or equal to {MAX_EXECUTION_INPUT_BYTES}")
        return original(backend, state_machine_arn, name, execution_input, *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution
    return lambda: setattr(StepFunctionsParserBackend, "start_execution", original)


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")  # one write per line: deploy threads log concurrently
    sys.stderr.flush()


class DeployProgress:
    """Numbered progress lines, one per provisioned resource; Pulumi registers resources from several threads."""

    def __init__(self, progress: Callable[[str], None]):
        self.progress = progress
        self.started = time.monotonic()
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, record: Provisioned) -> None:
        state = "inert" if record.inert else f"{record.seconds:.2f}s"
        with self._lock:  # a number per line, lines whole and in number order
            self.count += 1
            self.progress(f"  [{self.count:3d}] {time.monotonic() - self.started:5.1f}s {record.type} {record.name} "
                          f"({state})")


class LocalCloud:
    def __init__(self, stack: str, port: int | None = None, progress: Callable[[str], None] = _log):
        stack_config(stack)  # fails early, with the known stacks, on an unknown stack
        self.stack = stack
        self.port = port or free_port()
        self.progress = progress
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="localcloud-"))
        self.database: MariaDB | None = None
        self.server = None
        self.program: ProgramRun | None = None
        self.executions: list[str] = []
        self.finished: set[str] = set()
        self.inbound_ids: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        try:
            self._start_database()
            self._start_emulator()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_database(self) -> None:
        started = time.monotonic()
        cert, key = self_signed_certificate(self.root)
        self.ca_bundle = cert  # the functions verify the server against it, as against the RDS bundle on AWS
        self.database = MariaDB(tls_cert=str(cert), tls_key=str(key)).start()
        self._require_tls()
        self.db_passwords = {user: secrets.token_urlsafe(18) for user in (MASTER_USER, PROJECTOR_DB_USER,
                                                                         READER_DB_USER)}
        self.database.create_user(MASTER_USER, self.db_passwords[MASTER_USER], superuser=True)
        # The functions' users: IAM-authenticated on Aurora, password users here (see localcloud/worker.py).
        for user in (PROJECTOR_DB_USER, READER_DB_USER):
            self.database.create_user(user, self.db_passwords[user])
        self.progress(f"MariaDB on 127.0.0.1:{self.database.port} (TLS required) in {time.monotonic() - started:.1f}s")

    def _require_tls(self) -> None:
        self.database.execute("SET GLOBAL require_secure_transport = ON")  # as the cluster parameter group does

    def crash_database(self) -> None:
        """Fault injection: the database dies (SIGKILL); in-flight transactions are lost, committed ones kept."""
        self.database.kill()

    def restart_database(self) -> None:
        self.database.restart()
        self._require_tls()

    def _start_emulator(self) -> None:
        from moto.core.config import default_user_config
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        # moto's Step Functions interpreter builds its clients from the process environment.
        settings = {"MOTO_PORT": str(self.port), "AWS_DEFAULT_REGION": REGION,
                    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", **CREDENTIALS}
        self.saved_environment = {key: os.environ.get(key) for key in settings}
        os.environ.update(settings)
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the terminal
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.clients = {name: boto3.client(name, endpoint_url=self.endpoint, region_name=REGION,
                                           config=Config(retries={"max_attempts": 2}), **{
                                               "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                               "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]})
                        for name in SERVICES}
        self.runtime = LambdaRuntime(self.root, self._function_env(), self.db_passwords)
        self.bridge = EventBridge(self._start_execution, self._send_to_queue)
        self.restore = [self.runtime.install(), self.bridge.install(), _limit_execution_input()]
        self.poller = StreamPoller(self.clients["dynamodbstreams"], self._invoke, self._send_to_queue)
        self.progress(f"AWS emulator (moto) on {self.endpoint}")

    def _function_env(self) -> dict[str, str]:
        return {**CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self.root), "LANG": "C.UTF-8", "TZ": "UTC"}

    def stop(self) -> None:
        if getattr(self, "runtime", None):
            self.runtime.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
            for restore in self.restore:
                restore()
            _reset_emulated_state()
            for key, value in self.saved_environment.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if self.database is not None:
            self.database.stop()
            self.database = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- deploy ---------------------------------------------------------------------------------------------

    def deploy(self) -> ProgramRun:
        started = time.monotonic()
        database = LocalDatabase("127.0.0.1", self.database.port, MASTER_USER, self.db_passwords[MASTER_USER],
                                 self.database.create_database)
        self.mocks = LocalCloudMocks(self.clients, database,
                                     lambda mapping_uuid, inputs: self.poller.add(Mapping.from_inputs(mapping_uuid, inputs)),
                                     DeployProgress(self.progress))
        self.progress(f"deploying stack {self.stack} (the real __main__.py)")
        self.program = run_program(self.stack, mocks=self.mocks,
                                   config_overrides={"cqrs-orders:dbCaBundlePath": str(self.ca_bundle)})
        inert = sum(1 for p in self.mocks.provisioned if p.inert)
        self.progress(f"deployed {len(self.mocks.provisioned)} resources ({inert} inert offline) "
                      f"in {time.monotonic() - started:.1f}s; schema migrated by the deploy-time invocation")
        return self.program

    @property
    def outputs(self) -> dict:
        return self.program.outputs

    # -- traffic --------------------------------------------------------------------------------------------

    def put_events(self, entries: list[dict]) -> list[dict]:
        """PutEvents, one entry at a time so the order is kept; returns each entry's result."""
        results = []
        for entry in entries:
            result = self.clients["events"].put_events(Entries=[entry])["Entries"][0]
            if "EventId" in result:
                self.inbound_ids.add(result["EventId"])
            results.append(result)
        return results

    def _running(self) -> bool:
        for arn in self.executions:
            if arn not in self.finished:
                if self.clients["stepfunctions"].describe_execution(executionArn=arn)["status"] == "RUNNING":
                    return True
                self.finished.add(arn)
        return False

    def wait_for_executions(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self._running():
            if time.monotonic() > deadline:
                raise TimeoutError(f"executions still running after {timeout:.0f}s")
            time.sleep(0.02)

    def settle(self, timeout: float = 300) -> None:
        """Wait until the system is quiet: executions finished, streams drained, nothing more to deliver."""
        deadline = time.monotonic() + timeout
        while True:
            self.wait_for_executions(max(0.0, deadline - time.monotonic()))
            if self.poller.poll() == 0 and not self._running():
                return

    def published(self) -> list[dict]:
        """Every event the system itself published on the bus, in publication order."""
        return [{k: v for k, v in event.items() if k != "event-bus-name"}
                for event in self.bridge.journal if event["id"] not in self.inbound_ids]

    def execution_statuses(self) -> list[str]:
        return [self.clients["stepfunctions"].describe_execution(executionArn=arn)["status"]
                for arn in self.executions]

    def queue_messages(self, url: str) -> list[dict]:
        attributes = self.clients["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        count = int(attributes["ApproximateNumberOfMessages"])
        messages = []
        while len(messages) < count:
            batch = self.clients["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                                        MessageAttributeNames=["All"]).get("Messages", [])
            if not batch:
                break
            messages += batch
        return messages

    def read_model(self, sql: str, args: tuple = ()) -> list[tuple]:
        connection = self.database.root_connection("orders")
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        finally:
            connection.close()

    # -- callbacks from the emulated services ----------------------------------------------------------------

    def _start_execution(self, machine_arn: str, name: str, envelope: dict) -> None:
        # Compact UTF-8 JSON, as EventBridge sends it, so that the input quota counts what AWS counts.
        execution_input = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
        execution = self.clients["stepfunctions"].start_execution(stateMachineArn=machine_arn, name=name,
                                                                  input=execution_input)
        self.executions.append(execution["executionArn"])

    def _send_to_queue(self, queue_arn: str, body: str, attributes: dict) -> None:
        name = queue_arn.rsplit(":", 1)[1]
        url = self.clients["sqs"].get_queue_url(QueueName=name)["QueueUrl"]
        self.clients["sqs"].send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()})

    def _invoke(self, function_arn: str, event: dict) -> tuple[dict | None, bool]:
        response = self.clients["lambda"].invoke(FunctionName=function_arn, Payload=json.dumps(event).encode())
        payload = response["Payload"].read()
        return (json.loads(payload) if payload else None), bool(response.get("FunctionError"))
