"""The gateway's logic. ``function_app.py`` declares the functions; everything they do lives here.

Its packages are layers, and imports point down them only (``tests/unit/test_layers.py``
checks it): ``handlers`` → ``delivery`` → ``storage`` and ``twilio`` (the adapters) →
``domain`` → ``platform``. This package never imports ``function_app``, ``localdev`` or
``tests``.
"""
