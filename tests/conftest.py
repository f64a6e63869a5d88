"""Lines that tests ask to show in pytest's terminal summary (e.g. the policy pack's mutation kill rate), recorded
with `record_property`; they reach the controller from xdist workers in each test report."""

SUMMARY_PROPERTIES = ("mutation suite",)
_summary_lines: list[str] = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _summary_lines.extend(f"{name}: {value}" for name, value in report.user_properties
                              if name in SUMMARY_PROPERTIES)


def pytest_terminal_summary(terminalreporter):
    for line in _summary_lines:
        terminalreporter.write_line(line)
