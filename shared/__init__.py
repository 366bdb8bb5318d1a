"""The gateway's logic. ``function_app.py`` declares the functions; everything they do lives here.

This package never imports ``function_app``, ``localdev`` or ``tests``.
"""
