"""Store-and-forward: what must reach a server is written to a crash-safe file first, then forwarded in order
when the link is up, so a link that drops, a server that restarts or a killed process loses nothing.

``Outbox`` holds JSON-like records for a callback of yours; ``HistoryOutbox`` holds fenced history appends for
a ``History`` store (a deposed leader's buffered appends are refused by the fence, not retried). Delivery is at
least once: make the sink idempotent (the history is).

>>> import os, tempfile
>>> from aeroguard.outbox import Outbox, Refuse
>>> box = Outbox(os.path.join(tempfile.mkdtemp(), "posts.redb"))
>>> _ = box.push({"round": 1}); _ = box.push({"round": 2})
>>> def link_down(record):
...     raise ConnectionError("no route to the SCADA server")
>>> box.forward(link_down).stopped, len(box)
('no route to the SCADA server', 2)
>>> sent = []
>>> box.forward(sent.append).sent, sent, len(box)
(2, [{'round': 1}, {'round': 2}], 0)
"""

from aeroguard._aeroguard import ForwardPass, HistoryOutbox, Outbox


class Refuse(Exception):
    """Raised by an ``Outbox.forward`` callback for a record it can never take: the record is dropped and
    counted as refused, and the pass goes on."""


__all__ = ["ForwardPass", "HistoryOutbox", "Outbox", "Refuse"]
