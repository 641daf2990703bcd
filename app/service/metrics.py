"""Prometheus metrics of one service instance, in its own CollectorRegistry (never the global one, so two
apps in one process, as in tests, do not collide). Worker processes update them through a MetricsRelay:
the service process owns the registry and serves `/metrics` for all of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics:
    """Deliveries by event and outcome, queue depth, processing time, GitHub calls and rate limit."""

    def __init__(self, queue_depth: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "datacanary_webhooks_received",
            "Webhook requests answered, by event and HTTP status.",
            ["event", "status"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "datacanary_deliveries",
            "Deliveries processed by the workers, by event and outcome.",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.processing = Histogram(
            "datacanary_delivery_processing_seconds",
            "Time from claiming a delivery to finishing it.",
            ["event"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.ack = Histogram(
            "datacanary_webhook_ack_seconds",
            "Time to answer a webhook request (GitHub waits at most 10 s).",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "datacanary_queue_depth", "Deliveries queued or in progress.", registry=self.registry
        )
        if queue_depth is not None:
            self.queue_depth.set_function(queue_depth)
        self.github_calls = Counter(
            "datacanary_github_api_calls",
            "Requests to the GitHub API: `rest` by handlers' clients, `token` minting installation tokens.",
            ["kind"],
            registry=self.registry,
        )
        self.rate_limit_remaining = Gauge(
            "datacanary_github_rate_limit_remaining",
            "x-ratelimit-remaining of the latest GitHub response, per installation (`app`: the app's JWT).",
            ["installation"],
            registry=self.registry,
        )

    def token_response(self, status: int, headers: dict[str, str]) -> None:
        count_token_response(self, status, headers)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def apply(self, update: Update) -> None:
        """Apply one update sent by a worker process's MetricsRelay."""
        name, labels, op, value = update
        if name not in RELAYED or op not in ("inc", "observe", "set"):
            raise ValueError(f"not a relayed metric update: {update!r}")
        getattr(getattr(self, name).labels(*labels), op)(value)


# (metric attribute, label values, "inc" | "observe" | "set", value)
Update = tuple[str, tuple[Any, ...], str, float]
RELAYED = ("deliveries", "processing", "github_calls", "rate_limit_remaining")


class _Relayed:
    """One metric (or one labelled child of it) of a MetricsRelay."""

    def __init__(self, send: Callable[[Update], None], name: str, labels: tuple[str, ...] = ()) -> None:
        self._send = send
        self._name = name
        self._labels = labels

    def labels(self, *values: str) -> _Relayed:
        return _Relayed(self._send, self._name, values)

    def inc(self, amount: float = 1) -> None:
        self._send((self._name, self._labels, "inc", amount))

    def observe(self, value: float) -> None:
        self._send((self._name, self._labels, "observe", value))

    def set(self, value: float) -> None:
        self._send((self._name, self._labels, "set", value))


class MetricsRelay:
    """The metrics a worker updates, as seen from a worker process: each update is sent to the service
    process (`send`), which applies it to its ServiceMetrics."""

    def __init__(self, send: Callable[[Update], None]) -> None:
        self._send = send
        self.deliveries = _Relayed(send, "deliveries")
        self.processing = _Relayed(send, "processing")
        self.github_calls = _Relayed(send, "github_calls")
        self.rate_limit_remaining = _Relayed(send, "rate_limit_remaining")

    def token_response(self, status: int, headers: dict[str, str]) -> None:
        count_token_response(self, status, headers)


def count_token_response(
    metrics: ServiceMetrics | MetricsRelay, status: int, headers: dict[str, str]
) -> None:
    """Count one installation-token request (made with the app's JWT: the app's own rate limit), on the
    service's metrics or through a worker's relay alike."""
    metrics.github_calls.labels("token").inc()
    remaining = {k.lower(): v for k, v in headers.items()}.get("x-ratelimit-remaining")
    if remaining is not None and remaining.isdigit():
        metrics.rate_limit_remaining.labels("app").set(int(remaining))
