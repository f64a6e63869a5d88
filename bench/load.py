"""Load through `python -m localcloud serve`, as applications drive it: concurrent producers send createOrder
commands with PutEvents (10 entries a call) and queries in between, and read every answer from the bus through a
rule and an SQS queue of their own, as any subscriber would. Items follow a Zipf law (a few hot items in most
orders), so the projector's shards contend for the same totals rows.

Each producer keeps one PutEvents call of commands in flight: it sends 10 orders, waits for their 10 answers,
then asks for one of those orders with getOrder, again on each 404 until it is visible, and sends one sales query
(itemsSalesReport or monthlySalesByItem of a hot item). Figures: commands accepted per second over the run,
command -> its response event (p50/p99), command -> its order visible in a getOrder answer (p50/p99).

Checked after the run, or the benchmark fails: every command and query answered exactly once and as expected
(201-like orderCreated, 200/404 queries), the sales totals of every item equal to what was sent (through
itemsSalesReport, all pages), the read models reconciled with the orders table by `python -m ops reconcile` (orders,
lines, totals), and nothing in the projector's on-failure queue or the rule target's dead-letter queue.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

from bench.report import emit, latency_ms, say
from localcloud.mariadb import free_port

FULL = {"orders": 10_000, "producers": 8, "items": 200}
QUICK = {"orders": 400, "producers": 8, "items": 50}
ROOT = Path(__file__).resolve().parent.parent
BATCH = 10  # PutEvents' most entries per call
HOT = 5  # the first items of the Zipf law, asked for in the sales queries
CREDENTIALS = {"aws_access_key_id": "localcloud", "aws_secret_access_key": "localcloud", "region_name": "us-east-1"}


class Serve:
    """`python -m localcloud serve` as a user starts it; stopped with Ctrl-C (SIGINT)."""

    def __init__(self, workdir: Path, shards: int):
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.outputs_file = workdir / "outputs.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localcloud", "serve", "--port", str(port), "--stream-shards", str(shards),
             "--outputs-file", str(self.outputs_file)], cwd=ROOT, env={**os.environ, "TMPDIR": str(workdir)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.process.stderr:  # serve reports its progress on stderr, then writes the outputs file
            if "stack outputs written" in line:
                break
        else:
            raise RuntimeError(f"serve exited ({self.process.wait()}) before it was ready")
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # keep its pipe drained
        self.outputs = json.loads(self.outputs_file.read_text())["outputs"]

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, config=Config(retries={"max_attempts": 10},
                                                                               max_pool_connections=32), **CREDENTIALS)

    def stop(self) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Answers:
    """Every response event the system publishes, read from a queue subscribed to the bus."""

    def __init__(self, serve: Serve):
        self.sqs, events = serve.client("sqs"), serve.client("events")
        self.url = self.sqs.create_queue(QueueName=f"load-answers-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = serve.outputs["EventBusName"]
        events.put_rule(Name="load-answers", EventBusName=bus, EventPattern=json.dumps(
            {"source": ["orderPipeline"], "detail-type": ["orderCommandResponse", "orderQueryResponse"]}))
        events.put_targets(Rule="load-answers", EventBusName=bus, Targets=[{"Id": "answers", "Arn": arn}])
        self.arrived: dict[str, list[tuple[float, dict]]] = {}  # inbound event id -> (time seen, detail)
        self.changed = threading.Condition()
        self.stopped = False
        self.reader = threading.Thread(target=self._read, daemon=True, name="answers")
        self.reader.start()

    def _read(self) -> None:
        while not self.stopped:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=1).get("Messages", [])
            seen = time.monotonic()
            for message in messages:
                detail = json.loads(message["Body"])["detail"]
                key = detail.get("commandMessageId") or detail.get("queryMessageId")
                with self.changed:
                    self.arrived.setdefault(key, []).append((seen, detail))
                    self.changed.notify_all()
            if messages:
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])

    def stop(self) -> None:
        """Stop reading, before the emulator goes (a read in flight would fail on its closed port)."""
        self.stopped = True
        self.reader.join()

    def wait(self, ids: list[str], timeout: float = 600) -> list[tuple[float, dict]]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not all(key in self.arrived for key in ids):
                if not self.changed.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no answer after {timeout:.0f} s to {[k for k in ids if k not in self.arrived]}")
            return [self.arrived[key][0] for key in ids]


def _zipf(items: int, rng: random.Random) -> str:
    weights = [1 / rank for rank in range(1, items + 1)]
    return f"item-{rng.choices(range(items), weights)[0]:04d}"


def _entry(bus: str, kind: str, detail: dict) -> dict:
    return {"EventBusName": bus, "Source": "orderPipeline", "DetailType": kind, "Detail": json.dumps(detail)}


class Producer:
    def __init__(self, index: int, serve: Serve, answers: Answers, orders: int, items: int):
        self.events, self.answers, self.bus = serve.client("events"), answers, serve.outputs["EventBusName"]
        self.rng = random.Random(index)
        self.index, self.orders, self.items = index, orders, items
        self.sent: dict[str, tuple[float, str]] = {}  # event id -> (sent at, "command" | "query")
        self.lines: Counter = Counter()  # item -> quantity ordered
        self.to_response: list[float] = []
        self.to_visible: list[float] = []
        self.queries = 0

    def _put(self, entries: list[dict], kind: str) -> list[str]:
        started = time.monotonic()
        results = self.events.put_events(Entries=entries)["Entries"]
        failed = [r for r in results if "EventId" not in r]
        if failed:
            raise RuntimeError(f"PutEvents refused entries: {failed}")
        for result in results:
            self.sent[result["EventId"]] = (started, kind)
        return [r["EventId"] for r in results]

    def _ask(self, detail: dict) -> tuple[float, dict]:
        self.queries += 1
        [query_id] = self._put([_entry(self.bus, "orderQuery", detail)], "query")
        return self.answers.wait([query_id])[0]

    def run(self) -> None:
        for start in range(0, self.orders, BATCH):
            batch = []
            for n in range(start, min(start + BATCH, self.orders)):
                lines = Counter(_zipf(self.items, self.rng) for _ in range(self.rng.randint(1, 4)))
                self.lines.update(lines)
                batch.append({"command": "createOrder", "orderId": f"load-{self.index}-{n}",
                              "items": [{"itemid": item, "quantity": quantity} for item, quantity in lines.items()]})
            ids = self._put([_entry(self.bus, "orderCommand", detail) for detail in batch], "command")
            for key, (seen, detail) in zip(ids, self.answers.wait(ids)):
                if detail.get("commandStatus") != "orderCreated":
                    raise RuntimeError(f"a createOrder was answered {detail}")
                self.to_response.append(seen - self.sent[key][0])
            probe = batch[self.rng.randrange(len(batch))]["orderId"]
            sent = self.sent[ids[[d["orderId"] for d in batch].index(probe)]][0]
            while True:  # asked again on each 404, until the projector made it visible
                seen, answer = self._ask({"query": "getOrder", "orderId": probe})
                if answer["queryStatus"] == 200:
                    self.to_visible.append(seen - sent)
                    break
                if answer["queryStatus"] != 404:
                    raise RuntimeError(f"getOrder {probe} was answered {answer}")
            hot = f"item-{self.rng.randrange(HOT):04d}"
            sales = {"query": "monthlySalesByItem", "itemid": hot} if start % (2 * BATCH) else \
                {"query": "itemsSalesReport", "limit": 20}
            if self._ask(sales)[1]["queryStatus"] != 200:
                raise RuntimeError(f"{sales} was not answered 200")


def _totals(producer: Producer) -> dict[str, int]:
    """Every item's total through itemsSalesReport, all pages."""
    totals, token = {}, None
    while True:
        detail = {"query": "itemsSalesReport", "limit": 100, **({"nextToken": token} if token else {})}
        answer = producer._ask(detail)[1]
        totals |= {row["itemid"]: row["totalordered"] for row in answer["queryResult"]}
        token = answer.get("nextToken")
        if not token:
            return totals


def _queue_depth(serve: Serve, url: str) -> int:
    attributes = serve.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def run(orders: int, producers: int, items: int, shards: int = 2) -> dict:
    say(f"load through serve: {orders:,} createOrder from {producers} producers, {items} items (Zipf), "
        f"{shards} stream shards")
    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
        serve = Serve(Path(workdir), shards)
        answers = None
        try:
            answers = Answers(serve)
            share = [orders // producers + (1 if n < orders % producers else 0) for n in range(producers)]
            team = [Producer(n, serve, answers, share[n], items) for n in range(producers)]
            started = time.monotonic()
            with ThreadPoolExecutor(producers) as pool:
                list(pool.map(Producer.run, team))
            elapsed = time.monotonic() - started
            figures = _check(serve, answers, team, orders)
            figures |= {"orders": orders, "queries": sum(p.queries for p in team), "producers": producers,
                        "stream_shards": shards, "elapsed_s": round(elapsed, 1),
                        "commands_per_s": round(orders / elapsed, 1),
                        "events_per_s": round(sum(len(p.sent) for p in team) / elapsed, 1),
                        "command_to_response": latency_ms([s for p in team for s in p.to_response]),
                        "command_to_visible": latency_ms([s for p in team for s in p.to_visible])}
        finally:
            if answers is not None:
                answers.stop()
            serve.stop()
    say(f"  {figures['events_per_s']} events/s accepted ({figures['commands_per_s']} createOrder/s, "
        f"{figures['queries']:,} queries) in {figures['elapsed_s']} s")
    say(f"  command -> response event: p50 {figures['command_to_response']['p50_ms']:.0f} ms, "
        f"p99 {figures['command_to_response']['p99_ms']:.0f} ms")
    say(f"  command -> visible in getOrder: p50 {figures['command_to_visible']['p50_ms']:.0f} ms, "
        f"p99 {figures['command_to_visible']['p99_ms']:.0f} ms")
    say(f"  checked: every event answered once, totals of {figures['items_checked']} items exact, reconcile clean, "
        f"on-failure and dead-letter queues empty")
    return emit("load", figures)


def _check(serve: Serve, answers: Answers, team: list[Producer], orders: int) -> dict:
    totals = _totals(team[0])
    expected = sum((p.lines for p in team), Counter())
    if totals != dict(expected):
        wrong = {item: (totals.get(item), expected.get(item)) for item in set(totals) | set(expected)
                 if totals.get(item) != expected.get(item)}
        raise RuntimeError(f"sales totals differ (read model, sent): {dict(list(wrong.items())[:10])}")
    sent = {key for p in team for key in p.sent}
    time.sleep(2)  # a duplicate answer would arrive within the reader's next polls
    with answers.changed:
        twice = {key: len(v) for key, v in answers.arrived.items() if len(v) != 1}
        unanswered = sent - set(answers.arrived)
    if twice or unanswered:
        raise RuntimeError(f"answered more than once: {len(twice)}; unanswered: {len(unanswered)}")
    reconcile = subprocess.run([sys.executable, "-m", "ops", "reconcile", "--stack", "dev", "--outputs",
                                str(serve.outputs_file), "--endpoint-url", serve.endpoint, "--json"], cwd=ROOT,
                               capture_output=True, text=True, timeout=1800)
    if reconcile.returncode != 0:
        raise RuntimeError(f"reconcile reported drift or failed ({reconcile.returncode}): "
                           f"{reconcile.stdout[-2000:]}{reconcile.stderr[-2000:]}")
    for name in ("ProjectorDlqUrl", "EventTargetDlqUrl"):
        if _queue_depth(serve, serve.outputs[name]):
            raise RuntimeError(f"messages in {name}")
    summary = json.loads(reconcile.stdout.strip().splitlines()[-1])
    return {"items_checked": len(totals), "reconcile": summary}
