"""python -m localcloud run|demo|serve: the real stack, offline."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from harness.program import UnknownStack
from localcloud.cloud import LocalCloud
from localcloud.events_file import EventsFileError, check_bus, for_bus, load_entries

DEMO_STEPS = sorted((Path(__file__).parent / "scenarios" / "demo").glob("*.json"))


def _fail(message: str) -> int:
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
        with LocalCloud(args.stack) as cloud:
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
        with LocalCloud(args.stack) as cloud:
            cloud.deploy()
            sent = run_steps(cloud, [load_entries(path) for path in DEMO_STEPS])
            show(cloud, [(path.stem, pairs) for path, pairs in zip(DEMO_STEPS, sent)])
            _summary(cloud)
    except (UnknownStack, FileNotFoundError) as error:
        return _fail(str(error))
    return 0


def command_serve(args) -> int:
    try:
        cloud = LocalCloud(args.stack, port=args.port).start()
    except (UnknownStack, FileNotFoundError) as error:
        return _fail(str(error))
    stop = threading.Event()
    try:
        cloud.deploy()
        print(json.dumps(cloud.outputs, indent=2))
        print(_serve_example(cloud))
        threading.Thread(target=_deliver_streams, args=(cloud, stop), daemon=True).start()
        shown = 0
        while True:  # print what the system publishes, as it publishes it
            published = cloud.published()
            for event in published[shown:]:
                _print_event(event)
            shown = len(published)
            time.sleep(0.2)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        print("stopping: removing the emulator, the database and their temporary data", file=sys.stderr)
        return 0
    finally:
        stop.set()
        cloud.stop()


def _deliver_streams(cloud: LocalCloud, stop: threading.Event) -> None:
    while not stop.is_set():
        cloud.poller.poll()
        time.sleep(0.2)


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

Published events appear below, one JSON object per line. Ctrl-C stops everything.
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
    serve.set_defaults(handler=command_serve)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
