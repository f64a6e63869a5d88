"""python -m localcloud run|demo|serve: the real stack, offline.

SIGINT (Ctrl-C) and SIGTERM stop any command at any phase (MariaDB starting, emulator starting, deploying,
running or serving): the first one raises `Interrupted` in the main thread, later ones are ignored so that the
clean-up runs to its end, and everything started is stopped and its temporary data removed. Stopping `serve`
once it is ready is its normal end (exit code 0); otherwise the exit code is 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

if __name__ == "__main__":  # until main() takes over (imports take a second or two), nothing is started yet
    for _number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_number, lambda number, frame: os._exit(128 + number))

from botocore.exceptions import BotoCoreError, ClientError

from harness.program import UnknownStack
from localcloud.cloud import REGION, STREAM_SHARDS, LocalCloud
from localcloud.emulator import PortUnavailable
from localcloud.events_file import EventsFileError, check_bus, for_bus, load_entries
from ops.stack import localcloud_outputs_path, write_outputs_file

DEMO_STEPS = sorted((Path(__file__).parent / "scenarios" / "demo").glob("*.json"))


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: stop what runs and clean up."""


class _Stopping:
    """The signal handling of one command (main thread only): see the module's docstring."""

    def __init__(self):
        self.signal: int | None = None
        self.serving = False  # `serve` is ready: being stopped is its normal end
        self.clouds: list[LocalCloud] = []  # started or starting, stopped again after an interruption
        self.previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self.previous[number] = signal.signal(number, self._handle)

    def _handle(self, number: int, frame) -> None:
        if self.signal is not None:
            return  # already stopping: let the clean-up finish
        self.signal = number
        sys.stderr.write(f"stopping ({signal.Signals(number).name}): removing the emulator, the database and their "
                         "temporary data\n")
        sys.stderr.flush()
        # What is interrupted mid-way (a deploy, a delivery, an execution's thread) may complain as it unwinds, through
        # sys.stderr, a logging handler or a child's inherited stderr: none of that is news. stderr stays silent.
        logging.disable(logging.CRITICAL)
        silent = os.open(os.devnull, os.O_WRONLY)
        os.dup2(silent, 2)
        os.close(silent)
        raise Interrupted()

    def exit_code(self) -> int:
        return 0 if self.serving else 128 + int(self.signal)

    def uninstall(self) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)


_STOPPING = _Stopping()


def _register(cloud: LocalCloud) -> LocalCloud:
    _STOPPING.clouds.append(cloud)
    cloud.should_stop = lambda: _STOPPING.signal is not None
    return cloud


def _fail(message: str) -> int:
    if _STOPPING.signal is not None:  # an interruption surfacing as another error
        raise Interrupted()
    print("error: " + " ".join(line.strip() for line in message.splitlines()), file=sys.stderr)  # one line
    return 2


def _print_event(event: dict) -> None:
    """One JSON line on stdout. Text that stdout cannot encode (a lone surrogate sent in an id and echoed back,
    or a non-UTF-8 terminal) is written \\u-escaped rather than failing the command."""
    try:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")  # encoded whole before anything is written
    except UnicodeEncodeError:
        sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def run_steps(cloud: LocalCloud, steps: list[list[dict]]) -> list[list[tuple[dict, dict]]]:
    """Send each step's entries, then wait until the system is quiet; returns (entry, PutEvents result) pairs."""
    bus = cloud.outputs["EventBridgeARN"]
    sent = []
    for number, entries in enumerate(steps, 1):
        started = time.monotonic()
        results = cloud.put_events(for_bus(entries, bus))
        for entry, result in zip(entries, results):
            if "ErrorCode" in result:
                print(f"step {number}: PutEvents rejected an entry ({result['ErrorCode']}: "
                      f"{result['ErrorMessage']})", file=sys.stderr)
        cloud.settle()
        print(f"step {number}: {len(entries)} events sent, settled in {time.monotonic() - started:.1f}s",
              file=sys.stderr)
        sent.append(list(zip(entries, results)))
    return sent


def command_run(args) -> int:
    try:
        paths = [Path(path) for path in args.events]
        steps = [load_entries(path) for path in paths]  # every file is checked before the deploy
        with _register(LocalCloud(args.stack)) as cloud:
            cloud.deploy()
            for path, entries in zip(paths, steps):  # the stack's bus is known once deployed
                check_bus(path, entries, cloud.outputs["EventBridgeARN"])
            try:
                run_steps(cloud, steps)
            except (ClientError, BotoCoreError) as error:  # a request refused as a whole, not one entry
                return _fail(f"sending the events failed: {error}")
            for event in cloud.published():
                _print_event(event)
            _summary(cloud)
    except (EventsFileError, UnknownStack, FileNotFoundError) as error:
        return _fail(str(error))
    return 0


def command_demo(args) -> int:
    from localcloud.demo import show
    try:
        with _register(LocalCloud(args.stack)) as cloud:
            cloud.deploy()
            sent = run_steps(cloud, [load_entries(path) for path in DEMO_STEPS])
            show(cloud, [(path.stem, pairs) for path, pairs in zip(DEMO_STEPS, sent)])
            _summary(cloud)
    except (UnknownStack, FileNotFoundError) as error:
        return _fail(str(error))
    return 0


def command_serve(args) -> int:
    try:
        cloud = _register(LocalCloud(args.stack, port=args.port, api_port=args.api_port or args.port + 1,
                                     stream_shards=args.stream_shards, config_overrides=dict(args.config))).start()
    except (UnknownStack, FileNotFoundError, PortUnavailable) as error:
        return _fail(str(error))
    stop = threading.Event()
    outputs_file = None
    delivery = threading.Thread(target=_deliver_streams, args=(cloud, stop), daemon=True)
    try:
        cloud.deploy()
        print(json.dumps(cloud.outputs, indent=2))
        # The stack's outputs for other commands (python -m ops ... --endpoint-url), removed when serving stops.
        outputs_file = args.outputs_file or localcloud_outputs_path(args.stack)
        write_outputs_file(outputs_file, args.stack, cloud.endpoint, REGION, cloud.outputs)
        print(f"stack outputs written to {outputs_file}", file=sys.stderr)
        print(_serve_example(cloud), flush=True)
        _STOPPING.serving = True
        delivery.start()
        shown = 0
        while True:  # print what the system publishes, as it publishes it
            journal = cloud.journal_length  # only the new events: the journal grows with every event
            for event in cloud.published(since=shown, until=journal):
                _print_event(event)
            shown = journal
            if _STOPPING.signal is not None:  # the handler's exception was lost (see LocalCloud._checkpoint)
                raise Interrupted()
            time.sleep(0.2)
    finally:
        if outputs_file is not None:
            outputs_file.unlink(missing_ok=True)
        stop.set()
        if delivery.is_alive():
            delivery.join(timeout=30)  # a batch being delivered finishes before the emulator goes
        cloud.stop()


def _deliver_streams(cloud: LocalCloud, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            cloud.poller.poll()
        except Exception as error:  # e.g. the stream's table deleted over the API: keep serving
            if stop.is_set():
                return
            print(f"stream delivery failed: {error}", file=sys.stderr)
        stop.wait(0.2)


def _setting(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or ":" not in key:
        raise argparse.ArgumentTypeError(f"expected NAMESPACE:KEY=VALUE (e.g. cqrs-orders:httpApi=false), not {text!r}")
    return key, value


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 16:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 16, not {text!r}")
    return int(text)


def _serve_example(cloud: LocalCloud) -> str:
    bus = cloud.outputs["EventBusName"]
    detail = json.dumps(json.dumps({"command": "createOrder", "orderId": "7001",
                                    "items": [{"itemid": "z3333", "quantity": 2}]}))
    return f"""
ready on {cloud.endpoint} (credentials: any; region us-east-1). Try:

  export AWS_ACCESS_KEY_ID=localcloud AWS_SECRET_ACCESS_KEY=localcloud AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url {cloud.endpoint} events put-events --entries \\
    '[{{"EventBusName": "{bus}", "Source": "orderPipeline", "DetailType": "orderCommand", "Detail": {detail}}}]'
  aws --endpoint-url {cloud.endpoint} dynamodb scan --table-name {cloud.outputs["OrdersTableName"]}

{_api_example(cloud)}Published events appear below, one JSON object per line. Ctrl-C stops everything.
"""


def _api_example(cloud: LocalCloud) -> str:
    url = cloud.outputs.get("HttpApiUrl")
    if not url:
        return ""
    return f"""The HTTP API (SigV4-signed, as on AWS; StartSyncExecution needs the host prefix off locally):

  curl -s --aws-sigv4 aws:amz:us-east-1:execute-api --user localcloud:localcloud -H 'Content-Type: application/json' \\
    -d '{{"orderId": "7002", "items": [{{"itemid": "z3333", "quantity": 1}}]}}' {url}/orders
  curl -s --aws-sigv4 aws:amz:us-east-1:execute-api --user localcloud:localcloud {url}/orders/7002
  AWS_DISABLE_HOST_PREFIX_INJECTION=true aws --endpoint-url {cloud.endpoint} stepfunctions start-sync-execution \\
    --state-machine-arn {cloud.outputs["StateMachineArn"]} --input '{{"detail-type": "orderQuery", "id": "q1", \\
    "time": "2024-01-01T00:00:00Z", "detail": {{"query": "getOrder", "orderId": "7002"}}}}'

"""


def _summary(cloud: LocalCloud) -> None:
    statuses = cloud.execution_statuses()
    delivery = cloud.poller.delivery
    print(f"summary: {len(cloud.inbound_ids)} events sent, {len(cloud.published())} published, "
          f"{len(statuses)} executions ({statuses.count('SUCCEEDED')} succeeded, {statuses.count('FAILED')} failed), "
          f"{delivery.records_delivered} stream records projected, {delivery.records_to_on_failure} sent to the "
          f"on-failure queue, {len(cloud.bridge.dead_letters)} events dead-lettered", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="deploy a fresh emulated stack, send events files in order, print "
                                          "every event the system published (JSON lines on stdout)")
    run.add_argument("--stack", default="dev")
    run.add_argument("--events", nargs="+", required=True, metavar="FILE",
                     help="PutEvents entry files; each file is a step, sent once the previous one settled")
    run.set_defaults(handler=command_run)
    demo = commands.add_parser("demo", help="the sample's events plus a cancel, a getOrder, a duplicate and an "
                                            "invalid command, as a readable table")
    demo.add_argument("--stack", default="dev")
    demo.set_defaults(handler=command_demo)
    serve = commands.add_parser("serve", help="keep the emulator listening on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--stack", default="dev")
    serve.add_argument("--port", type=int, default=4566)
    serve.add_argument("--api-port", type=int, default=None,
                       help="where the stack's HTTP API listens (HttpApiUrl; default: --port + 1)")
    serve.add_argument("--config", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                       help="a stack setting for this run only, as `pulumi config set` takes it "
                            "(e.g. cqrs-orders:httpApiAuthorization=none); repeatable")
    serve.add_argument("--stream-shards", type=_positive, default=STREAM_SHARDS,
                       help=f"shards of each DynamoDB stream, projected in parallel (default {STREAM_SHARDS})")
    serve.add_argument("--outputs-file", type=Path, default=None,
                       help="where to write the stack's outputs while serving (default "
                            ".localcloud/<stack>-outputs.json, where `python -m ops ... --endpoint-url` finds them)")
    serve.set_defaults(handler=command_serve)
    args = parser.parse_args(argv)
    global _STOPPING
    _STOPPING = _Stopping()
    _STOPPING.install()
    try:
        return args.handler(args)
    except BaseException:
        if _STOPPING.signal is None:
            raise
        for cloud in _STOPPING.clouds:  # stopped again: the interruption may have cut a clean-up short
            cloud.stop()
        return _STOPPING.exit_code()
    finally:
        _STOPPING.uninstall()


if __name__ == "__main__":
    sys.exit(main())
