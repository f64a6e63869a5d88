"""Automation API driver that deploys cqrs-orders from CI/CD: `python -m pipelines --help`."""
