"""What ``function_app.py`` calls: the send and list APIs, the queue worker, Twilio's webhooks
and the TwiML endpoints. Each turns a request or a queue message into calls below it.

May import every other package of ``shared``; nothing imports it.
"""
