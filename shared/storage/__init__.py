"""Azure Table Storage: the message log, the list index, SID owner rows and opt-outs.

An adapter: may import ``domain`` and ``platform``, not ``twilio`` or anything above.
"""
