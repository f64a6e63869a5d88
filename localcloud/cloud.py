"""The offline cloud: a private MariaDB (Aurora's stand-in, TLS required), a moto server on 127.0.0.1 with Step
Functions execution on, the real program deployed into it, Lambda functions run from their real archives, and
stream and EventBridge delivery with AWS semantics."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import boto3
from botocore.config import Config

from components.database import MASTER_USERNAME as MASTER_USER, OPS_DB_USER, PROJECTOR_DB_USER, READER_DB_USER
from harness.program import ProgramRun, run_program, stack_config
from localcloud import sfn_fidelity, speed, stream_shards, sync_execution
from localcloud.http_api import Deployed, RestApiServer
from localcloud.emulator import Emulator, bind_socket
from localcloud.eventbridge import EventBridge
from localcloud.lambda_fidelity import LambdaFidelity
from localcloud.lambda_runtime import MAX_ENVIRONMENTS, LambdaRuntime
from localcloud.mariadb import MariaDB, find_binary, free_port
from localcloud.mocks import LocalCloudMocks, LocalDatabase
from localcloud.progress import DeployProgress, in_thread, log
from localcloud.streams import Mapping, StreamPoller
from localcloud.tls import self_signed_certificate

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud"}
SERVICES = ("apigateway", "dynamodb", "dynamodbstreams", "events", "iam", "lambda", "logs", "secretsmanager", "sns",
            "sqs", "stepfunctions")
ACCOUNT = "123456789012"  # moto's default account
STREAM_SHARDS = 2  # a table's stream shards offline (AWS: one per partition; two show cross-shard concurrency)
MAX_EXECUTION_INPUT_BYTES = sfn_fidelity.MAX_EXECUTION_INPUT_BYTES  # Step Functions' quota on an input, as UTF-8


class LocalCloud:
    def __init__(self, stack: str, port: int | None = None, progress: Callable[[str], None] = log,
                 config_overrides: dict[str, str] | None = None, api_port: int | None = None,
                 stream_shards: int = STREAM_SHARDS, max_environments: int = MAX_ENVIRONMENTS):
        self.stream_shards = stream_shards  # each DynamoDB stream's shards, projected in parallel
        self.max_environments = max_environments  # per function without reserved concurrency (lambda_runtime.py)
        self.config_overrides = dict(config_overrides or {})  # `pulumi config set` for this run (tests)
        stack_config(stack, self.config_overrides)  # fails early, with the known stacks, on an unknown stack
        self.stack = stack
        self.port = port or free_port()
        self.progress = progress
        self.endpoint = f"http://127.0.0.1:{self.port}"
        # The stack's REST API, served on its own port as deployed (localcloud/http_api.py).
        self.api_port = api_port or free_port()
        self.api_endpoint = f"http://127.0.0.1:{self.api_port}"
        self.apis = Deployed()
        self.api_server: RestApiServer | None = None
        self.api_socket = None
        self.root: Path | None = None  # made by start(), under $TMPDIR (or the system's temporary directory)
        self.database: MariaDB | None = None
        self.server: Emulator | None = None
        self.runtime: LambdaRuntime | None = None
        self.poller: StreamPoller | None = None
        self.bridge: EventBridge | None = None
        self.mocks: LocalCloudMocks | None = None
        self.restore: list[Callable[[], None]] = []
        self.reserved = None  # the emulator's port, bound from start() until the server takes it
        self.should_stop: Callable[[], bool] = lambda: False  # e.g. a signal arrived (see _checkpoint)
        self.program: ProgramRun | None = None
        self.executions: list[str] = []
        self.finished: set[str] = set()
        self.inbound_ids: set[str] = set()

    # -- lifecycle ----------------------------------------------------------------------------------------

    def start(self) -> LocalCloud:
        """Start everything; on any failure or interruption, release what was started and raise."""
        try:
            self.reserved = bind_socket("127.0.0.1", self.port)  # held: a taken port fails before anything starts
            self.api_socket = bind_socket("127.0.0.1", self.api_port)  # held: the API serves on it once deployed
            find_binary("mariadbd"), find_binary("mariadb-install-db")  # so does a missing MariaDB
            self.root = Path(tempfile.mkdtemp(prefix="localcloud-"))
            self.progress("starting MariaDB (Aurora's stand-in)")
            self._start_database()
            self.progress("starting the AWS emulator")
            self._checkpoint()
            self._start_emulator()
            self._checkpoint()
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
                                                                         READER_DB_USER, OPS_DB_USER)}
        self.database.create_user(MASTER_USER, self.db_passwords[MASTER_USER], superuser=True)
        # The functions' users: IAM-authenticated on Aurora, password users here (see localcloud/worker.py).
        for user in (PROJECTOR_DB_USER, READER_DB_USER, OPS_DB_USER):
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
        self.server = Emulator("127.0.0.1", self.port, {"MOTO_PORT": str(self.port), "AWS_DEFAULT_REGION": REGION,
                                                        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", **CREDENTIALS})
        self.server.start(self.reserved)  # the server takes over the reserved port
        self.reserved = None
        self.clients = {name: boto3.client(name, endpoint_url=self.endpoint, region_name=REGION,
                                           config=Config(retries={"max_attempts": 2}), **{
                                               "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                               "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]})
                        for name in SERVICES}
        self.runtime = LambdaRuntime(self.root, self._function_env(), self.db_passwords, self.max_environments)
        self.bridge = EventBridge(self._start_execution, self._send_to_queue)
        fidelity = LambdaFidelity(lambda subnets: self.mocks.vpc_of(subnets) if self.mocks else None)
        for install in (self.runtime.install, self.bridge.install, sfn_fidelity.install, speed.install,
                        fidelity.install, lambda: stream_shards.install(self.stream_shards),
                        sfn_fidelity.count_state_data_as_aws,
                        lambda: sync_execution.install(self.executions.append)):
            self.restore.append(install())
        self.poller = StreamPoller(self.clients["dynamodbstreams"], self._invoke, self._send_to_queue)
        self.progress(f"AWS emulator (moto) on {self.endpoint}")

    def _function_env(self) -> dict[str, str]:
        return {**CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self.root), "LANG": "C.UTF-8", "TZ": "UTC"}

    def stop(self) -> None:
        """Release whatever start() got to (safe to call again): emulator, patches, database, temporary data."""
        if self.api_server is not None:
            self.api_server.stop()
            self.api_server = None
        if self.api_socket is not None:
            self.api_socket.close()
            self.api_socket = None
        if self.bridge is not None:
            self.bridge.stop()
        if self.poller is not None:
            self.poller.stop()
        if self.runtime is not None:
            self.runtime.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.reserved is not None:
            self.reserved.close()
            self.reserved = None
        while self.restore:
            self.restore.pop()()
        if self.database is not None:
            self.database.stop()
            self.database = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- deploy ---------------------------------------------------------------------------------------------

    def deploy(self) -> ProgramRun:
        started = time.monotonic()
        database = LocalDatabase("127.0.0.1", self.database.port, MASTER_USER, self.db_passwords[MASTER_USER],
                                 self.database.create_database, self.database.set_global)
        self.mocks = LocalCloudMocks(self.clients, database,
                                     lambda mapping_uuid, inputs: self.poller.add(Mapping.from_inputs(mapping_uuid, inputs)),
                                     DeployProgress(self.progress), apis=self.apis, api_endpoint=self.api_endpoint)
        self.progress(f"deploying stack {self.stack} (the real __main__.py)")
        overrides = {**self.config_overrides, "cqrs-orders:dbCaBundlePath": str(self.ca_bundle)}
        # In a thread: a Ctrl-C interrupts the waiting here, never the Pulumi runtime (see in_thread).
        self.program = in_thread(lambda: run_program(self.stack, mocks=self.mocks, config_overrides=overrides),
                                 self._checkpoint)
        if self.apis.stages:
            self.api_server = RestApiServer(self.apis, self.api_socket, self.endpoint, ACCOUNT, REGION)
            self.api_server.start()
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
                if self.describe_execution(arn)["status"] == "RUNNING":
                    return True
                self.finished.add(arn)
        return False

    def wait_for_executions(self, timeout: float = 120) -> None:
        """Wait until every accepted event was delivered (delivery is asynchronous) and its execution finished."""
        deadline = time.monotonic() + timeout
        self.bridge.wait_until_delivered(timeout)
        while self._running():
            if time.monotonic() > deadline:
                raise TimeoutError(f"executions still running after {timeout:.0f}s")
            self._checkpoint()
            time.sleep(0.02)

    def _checkpoint(self) -> None:
        """Stop here if asked to. A signal handler's exception can be lost (raised while a finalizer runs, it is
        only reported): the stop request is checked again between the phases and while waiting."""
        if self.should_stop():
            raise KeyboardInterrupt("stop requested")

    def settle(self, timeout: float = 300) -> None:
        """Wait until the system is quiet: executions finished, streams drained, nothing more to deliver."""
        deadline = time.monotonic() + timeout
        while True:
            self.wait_for_executions(max(0.0, deadline - time.monotonic()))
            if self.poller.poll() == 0 and self.bridge.idle and not self._running():
                return

    def published(self, since: int = 0, until: int | None = None) -> list[dict]:
        """The events the system itself published on the bus, in publication order, between journal positions
        `since` and `until` (serve prints them as they come: see journal_length)."""
        return [{k: v for k, v in event.items() if k != "event-bus-name"}
                for event in self.bridge.journal[since:until] if event["id"] not in self.inbound_ids]

    @property
    def journal_length(self) -> int:
        """How many events the bus has accepted so far (a position for `published(since=...)`)."""
        return len(self.bridge.journal)

    def execution_statuses(self) -> list[str]:
        return [self.describe_execution(arn)["status"] for arn in self.executions]

    def describe_execution(self, arn: str) -> dict:
        """An execution as DescribeExecution shows it, EXPRESS too (the API refuses those, as AWS does)."""
        return sfn_fidelity.describe_execution(arn, ACCOUNT, REGION)

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
        return self.database.query(sql, args, "orders")

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
