"""Azure Table Storage: the message log, the list index, SID owner rows, opt-outs, the daily
counts and the retention bookkeeping.

An adapter: may import ``domain`` and ``platform``, not ``twilio`` or anything above.
"""
