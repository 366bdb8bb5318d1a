"""The rules, with no I/O: the request model, statuses and their ranks, the records and the
pure transitions between them, and the envelopes a request arrives in.

May import ``platform`` only, and no Azure or Twilio SDK.
"""
