"""Getting a message out and its record to a final status: enqueueing, status checks and
reconciliation against Twilio, with the per-process clients they share.

May import the adapters (``storage``, ``twilio``), ``domain`` and ``platform``.
"""
