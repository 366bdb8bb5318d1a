"""Getting a message out and its record to a final status, and the data's lifetime:
enqueueing, the retry policy and pacing of Twilio requests, status checks and reconciliation,
status counts, retention, erasure and redaction, with the per-process clients they share.

May import the adapters (``storage``, ``twilio``), ``domain`` and ``platform``.
"""
