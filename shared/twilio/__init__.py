"""Twilio: the REST sender, TwiML and webhook signatures, through the ``twilio`` library.

An adapter: may import ``domain`` and ``platform``, not ``storage`` or anything above.
"""
