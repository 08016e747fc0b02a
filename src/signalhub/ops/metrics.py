from __future__ import annotations

from prometheus_client import Counter, Histogram

http_requests = Counter(
    "signalhub_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
http_latency = Histogram(
    "signalhub_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
