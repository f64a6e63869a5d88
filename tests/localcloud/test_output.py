"""What the commands write: deploy progress lines and the demo's table of commands, queries and responses."""

import re
import sys
import threading

from localcloud.progress import DeployProgress, log as _log
from localcloud.demo import commands_table
from localcloud.mocks import Provisioned

LINE = re.compile(r"  \[ *(\d+)\] +\d+\.\ds aws:lambda/function:Function (fn-\d+-\d+) \(0\.25s\)")


def test_deploy_progress_from_many_threads_gives_whole_lines_numbered_once(capsys):
    progress = DeployProgress(_log)
    threads, per_thread = 8, 150

    def provision(thread: int) -> None:
        for n in range(per_thread):
            progress(Provisioned("aws:lambda/function:Function", f"fn-{thread}-{n}", False, 0.25))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to expose any race
    try:
        workers = [threading.Thread(target=provision, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(interval)
    lines = capsys.readouterr().err.splitlines()
    matches = [LINE.fullmatch(line) for line in lines]
    assert all(matches), [line for line, match in zip(lines, matches) if not match][:3]
    assert [int(m[1]) for m in matches] == list(range(1, threads * per_thread + 1))
    assert {m[2] for m in matches} == {f"fn-{t}-{n}" for t in range(threads) for n in range(per_thread)}


def entry(detail_type: str, detail: str) -> dict:
    return {"DetailType": detail_type, "Source": "orderPipeline", "Detail": detail}


def test_the_demo_shows_commands_and_queries_as_an_aligned_table():
    steps = [("1-create", [(entry("orderCommand", '{"command": "createOrder", "orderId": "6101", "items": '
                                                  '[{"itemid": "z3333", "quantity": 6}, {"itemid": "z4444", "quantity": "3"}]}'),
                            {"EventId": "a"}),
                           (entry("orderCommand", '{"command": "createOrder", "orderId": "6101"}'), {"EventId": "b"}),
                           (entry("orderCommand", "[1]"), {"ErrorCode": "MalformedDetail"})]),
             ("2-query", [(entry("orderQuery", '{"query": "itemsSalesReport", "limit": 1}'), {"EventId": "c"}),
                          (entry("orderQuery", '{"query": "getOrder", "orderId": "6101"}'), {"EventId": "d"}),
                          (entry("orderQuery", '{"query": "getOrder", "orderId": "nobody"}'), {"EventId": "e"})])]
    published = [
        {"detail-type": "orderCommandResponse", "detail": {"commandMessageId": "a", "orderid": "6101",
                                                           "commandStatus": "orderCreated"}},
        {"detail-type": "orderCommandResponse", "detail": {"commandMessageId": "b", "orderid": "6101",
                                                           "commandStatus": "rejected", "reason": "orderAlreadyExists",
                                                           "message": "orderId 6101 already exists"}},
        {"detail-type": "orderQueryResponse", "detail": {"queryMessageId": "c", "queryStatus": 200, "nextToken": "t1",
                                                         "queryResult": [{"itemid": "z3333", "totalordered": 6,
                                                                          "lastorderdate": "2022-10-13"}]}},
        {"detail-type": "orderQueryResponse", "detail": {"queryMessageId": "d", "queryStatus": 200, "queryResult": {
            "orderid": "6101", "status": "orderCreated", "orderdate": "2022-10-13T19:00:00Z",
            "items": [{"itemid": "z3333", "quantity": 6}, {"itemid": "z4444", "quantity": 3}] * 4}}},
    ]
    lines = commands_table(steps, published).splitlines()
    assert [cell.strip() for cell in lines[0].split("|")] == ["step", "event", "key fields", "status", "response"]
    separators = {tuple(i for i, c in enumerate(line) if c == "|") for line in lines[2:]}
    assert separators == {tuple(i for i, c in enumerate(lines[0]) if c == "|")}  # every row aligned
    rows = [[cell.strip() for cell in line.split(" | ")] for line in lines[2:]]
    assert rows == [
        ["1", "command createOrder", 'orderId=6101 items=z3333x6,z4444x"3"', "orderCreated", "orderid 6101"],
        ["", "command createOrder", "orderId=6101", "rejected", "orderAlreadyExists: orderId 6101 already exists"],
        ["", "orderCommand", "[1]", "not sent", "PutEvents rejected the entry: MalformedDetail"],
        ["2", "query itemsSalesReport", "limit=1", "200", "1 row: z3333 6 2022-10-13 nextToken=t1"],
        ["", "query getOrder", "orderId=6101", "200", "6101 orderCreated 2022-10-13T19:00:00Z z3333x6; z4444x3; z3…"],
        ["", "query getOrder", "orderId=nobody", "-", "(no response)"]]
    assert len(rows[4][4]) == 60  # long results are cut
