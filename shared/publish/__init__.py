"""Events out: an Event Grid topic (``azure-eventgrid``) and webhooks signed the Standard
Webhooks way, each answer read as one ``Outcome`` the delivery layer acts on.

An adapter: may import ``domain`` and ``platform``, not ``storage``, ``twilio`` or anything
above.
"""
