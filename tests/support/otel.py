"""OpenTelemetry SDK providers with in-memory exporters, installed once per test process.

The global tracer provider can be set only once, so every test that reads spans or exported
log records shares these and clears them first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


@dataclass(frozen=True)
class Telemetry:
    spans: InMemorySpanExporter
    logs: InMemoryLogRecordExporter
    handler: LoggingHandler

    def clear(self) -> None:
        self.spans.clear()
        self.logs.clear()


@cache
def in_memory_telemetry() -> Telemetry:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    handler = LoggingHandler(level=logging.INFO, logger_provider=logger_provider)
    return Telemetry(spans, logs, handler)


@cache
def in_memory_metrics() -> InMemoryMetricReader:
    """The global meter provider, read in memory (it too can be set only once)."""
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader
