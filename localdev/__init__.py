"""Runs the gateway on one machine: a local Functions host, a Twilio API simulator, Azurite.

Nothing in ``function_app.py`` or ``shared/`` imports this package; it is not deployed.
"""
