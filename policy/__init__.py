"""The cqrs-orders CrossGuard policy pack (rules/) and its offline runner (check.py)."""
