"""Azure Monitor through OpenTelemetry, switched on by ``APPLICATIONINSIGHTS_CONNECTION_STRING``.

``host.json`` sets ``telemetryMode: OpenTelemetry`` for the host; this configures the worker
side: the ``gateway`` logger's records (with their flat attributes) and the app's spans.
Without the connection string nothing is imported, so local runs and tests stay quiet and a
cold start pays nothing. Entra ID authentication to Application Insights (local
auth off) is read by the exporter itself from ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from shared.platform import logs

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
# Set, the Python worker configures Azure Monitor itself before loading the app.
WORKER_CONFIGURES = "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"

# Their spans carry request URLs, and the opt-out table is keyed by phone number: a URL would
# put a number into telemetry unmasked.
UNINSTRUMENTED = ("azure_sdk", "requests", "urllib", "urllib3", "httpx")

_configured = False


def configure_azure_monitor_if_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """Configure the Azure Monitor distro once per process, if Application Insights is set
    up and the worker has not done it already. Says whether it did."""
    global _configured
    connection_string = env.get(CONNECTION_STRING, "").strip()
    if _configured or not connection_string:
        return False
    if env.get(WORKER_CONFIGURES, "").strip().lower() == "true":
        return False
    from azure.monitor.opentelemetry import configure_azure_monitor

    try:
        configure_azure_monitor(
            connection_string=connection_string,
            logger_name=logs.logger.name,
            instrumentation_options={name: {"enabled": False} for name in UNINSTRUMENTED},
        )
    except ValueError as exc:
        # A telemetry mistake must not stop the app from indexing and sending.
        logs.error("telemetry_not_configured", setting=CONNECTION_STRING, reason=str(exc))
        return False
    _configured = True
    logs.info("telemetry_configured", exporter="azure_monitor")
    return True
