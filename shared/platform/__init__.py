"""What every layer stands on: settings, the storage connection, logs with masked numbers,
telemetry, metrics and tracing, HTTP and JSON helpers, the shared errors and group commit.

Imports no other package of ``shared``.
"""
