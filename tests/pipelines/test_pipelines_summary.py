"""The pull-request summary (`--summary-file`, Markdown): the diff of a preview next to its policy results,
mandatory and advisory, grouped by resource; the JSON document carries the same diff."""

URN = "urn:pulumi:prod::cqrs-orders::cqrs:index:QuerySide$aws:lambda/function:Function::query-projector-function"
DB_URN = "urn:pulumi:prod::cqrs-orders::cqrs:index:QuerySide$aws:rds/cluster:Cluster::query-db-cluster"
STEPS = [
    {"op": "update", "urn": URN, "type": "aws:lambda/function:Function", "diffs": ["timeout", "memorySize"]},
    {"op": "create", "urn": DB_URN.replace("rds/cluster:Cluster::query-db-cluster", "sqs/queue:Queue::extra"),
     "type": "aws:sqs/queue:Queue"},
    {"op": "same", "urn": DB_URN, "type": "aws:rds/cluster:Cluster"},
]
VIOLATIONS = [
    {"level": "advisory", "policy": "aurora-max-capacity", "message": "cluster may scale to 64 ACU", "urn": DB_URN},
    {"level": "advisory", "policy": "lambda-tracing", "message": "not | traced", "urn": URN},
    {"level": "mandatory", "policy": "lambda-timeout", "message": "default timeout", "urn": URN},
]


def test_a_preview_summary_shows_the_diff_next_to_the_policy_results(fake, tmp_path):
    fake.seed("prod", results=("succeeded",))
    fake.knob("STEPS", STEPS)
    fake.knob("POLICY", [v for v in VIOLATIONS if v["level"] == "advisory"])
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps' summary\n")  # appended to, as GitHub's $GITHUB_STEP_SUMMARY

    pack = str(fake.work_dir / "policy")
    run = fake.run("preview", "--stack", "prod", "--policy-pack", pack, "--summary-file", str(summary))

    assert run.code == 0, run.err
    lines = summary.read_text().splitlines()
    assert lines[:5] == ["earlier steps' summary", "### `preview` of `prod`: succeeded", "",
                         "**Changes:** create 2, same 1", ""]
    diff = lines.index("**Diff**")
    assert lines[diff + 4:diff + 6] == [
        "| `query-projector-function` | `aws:lambda/function:Function` | update | `memorySize`, `timeout` |",
        "| `extra` | `aws:sqs/queue:Queue` | create | - |"]
    policy = lines.index("**Policy:** 0 mandatory, 2 advisory")
    assert policy > diff
    assert lines[policy + 4:policy + 6] == [
        "| `query-db-cluster` | advisory | `aurora-max-capacity` | cluster may scale to 64 ACU |",
        "| `query-projector-function` | advisory | `lambda-tracing` | not \\| traced |"]


def test_a_blocked_preview_still_writes_its_summary_mandatory_first(fake, tmp_path):
    fake.seed("prod", results=("succeeded",))
    fake.knob("STEPS", STEPS[:1])
    fake.knob("POLICY", VIOLATIONS)
    summary = tmp_path / "summary.md"

    pack = str(fake.work_dir / "policy")
    run = fake.run("preview", "--stack", "prod", "--policy-pack", pack, "--summary-file", str(summary))

    assert run.code == 1
    text = summary.read_text()
    assert text.startswith("### `preview` of `prod`: failed\n\n> `pulumi preview` failed with exit code 255\n")
    assert "**Policy:** 1 mandatory, 2 advisory" in text
    rows = [line for line in text.splitlines() if line.startswith("| `query-")]
    assert [row.split(" | ")[1:3] for row in rows] == [
        ["advisory", "`aurora-max-capacity`"], ["mandatory", "`lambda-timeout`"], ["advisory", "`lambda-tracing`"]]


def test_a_preview_without_violations_says_so(fake, tmp_path):
    summary = tmp_path / "summary.md"
    assert fake.run("preview", "--stack", "dev", "--summary-file", str(summary)).code == 0
    assert "**Policy:** 0 mandatory, 0 advisory\n" in summary.read_text()
    assert "**Diff**" not in summary.read_text()


def test_the_json_document_carries_the_diff(fake):
    fake.knob("STEPS", STEPS)

    document = fake.run("preview", "--stack", "dev", "--json").json()

    assert document["diff"] == [
        {"urn": URN, "type": "aws:lambda/function:Function", "name": "query-projector-function", "op": "update",
         "properties": ["memorySize", "timeout"]},
        {"urn": STEPS[1]["urn"], "type": "aws:sqs/queue:Queue", "name": "extra", "op": "create", "properties": []}]
