"""A party's inbox: the small program a party runs at its end of the direct line.

It receives the center's signed webhooks (:mod:`ceasefire.dissemination.webhooks`), checks
the center's signature and the timestamp's tolerance, drops a repeat by the notice id, keeps
the notices in a SQLite file of its own, shows them in the party's language (an HTML page,
``ceasefire inbox list``), and acknowledges them with an acknowledgement signed by the party's
own key (:func:`ceasefire.dissemination.acks.sign_ack`) at the center's endpoint. It holds no
account at the center and needs nothing of it but its verifier key and its address.
See docs/direct-lines.md, "The inbox".
"""

from ceasefire.inbox.store import Inbox, Received, init_inbox

__all__ = ["Inbox", "Received", "init_inbox"]
