"""API Gateway's per-method throttling of a REST API stage, as localcloud's REST API enforces it: a token bucket per
method of the stage (API Gateway applies a stage's limits "at the API method level"), holding up to the burst limit
and refilled at the steady rate; a request that finds it empty is answered 429 "Too Many Requests" before anything
else runs (the authorizer included). The limits are the stage's MethodSettings: the method's own (`orders/GET`),
else the stage's default (`*/*`); none, or a negative limit, leaves the request unthrottled (the account's limits
are not emulated)."""

from __future__ import annotations

import threading
import time
from typing import Callable


def method_path(resource_path: str, http_method: str) -> str:
    """MethodSettings' name of a method: /orders/{orderId} GET -> orders/{orderId}/GET."""
    return f"{resource_path.strip('/')}/{http_method.upper()}".lstrip("/")


def limits(settings_by_path: dict[str, dict], resource_path: str, http_method: str) -> tuple[float, float] | None:
    """(rate per second, burst) for the method, or None when it is not throttled."""
    settings = settings_by_path.get(method_path(resource_path, http_method)) or settings_by_path.get("*/*") or {}
    rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
    if rate is None or burst is None or float(rate) < 0 or float(burst) < 0:
        return None
    return float(rate), float(burst)


class TokenBuckets:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._buckets: dict[tuple, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, key: tuple, rate: float, burst: float) -> bool:
        """One token from the key's bucket (a new bucket is full); False when none is left."""
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - then) * rate)
            taken = tokens >= 1
            self._buckets[key] = (tokens - 1 if taken else tokens, now)
            return taken
