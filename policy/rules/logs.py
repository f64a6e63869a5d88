"""CloudWatch log groups: every one expires its logs, within the configured bounds."""

from .support import get, resource_policy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
# The only values CloudWatch Logs accepts (the mock runtime accepts anything).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653)
DAYS = {"type": "integer", "minimum": 1, "maximum": 3653}


@resource_policy("log-group-retention",
                 "Log groups expire their logs after a retention within the configured bounds.", {LOG_GROUP},
                 config={"minimumDays": {**DAYS, "default": 7, "description": "shortest retention allowed"},
                         "maximumDays": {**DAYS, "default": 365, "description": "longest retention allowed"}})
def retention(args, report_violation):
    config = args.get_config()
    low, high = config["minimumDays"], config["maximumDays"]
    days = get(args.props, "retentionInDays")
    if not days:
        problem = "keeps logs forever"
    elif days not in RETENTION_DAYS:
        problem = f"has a retention of {days:g} days, which CloudWatch Logs does not accept"
    elif not low <= days <= high:
        problem = f"keeps logs for {days:g} days, outside {low}..{high}"
    else:
        return
    allowed = ", ".join(str(d) for d in RETENTION_DAYS if low <= d <= high)
    report_violation(f"log group '{args.name}' {problem}: set retention_in_days to one of {allowed}.")


POLICIES = [retention]
