"""Dissemination: the center's decisions reach the peacekeepers and both parties.

Notices in each recipient's language (:mod:`.render`), written in the transaction of the
decision that causes them (:mod:`.outbox`), sent by one dispatcher over pluggable channels
(:mod:`.dispatcher`, :mod:`.channels`), acknowledged, answered and complained about
(:mod:`.acks`, :mod:`.messages`). See docs/direct-lines.md.
"""

from ceasefire.dissemination.notices import Delivery, Notice, get_notice, list_notices, retry

__all__ = ["Delivery", "Notice", "get_notice", "list_notices", "retry"]
