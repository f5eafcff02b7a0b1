"""Adapters from every input format to the canonical observation record.

One module per format, each with a generator ``parse(stream, source)`` that yields an
:class:`~ceasefire.observations.Observation` (or a
:class:`~ceasefire.observations.TrackPoint` / :class:`~ceasefire.observations.PointOfInterest`
for sensor positions) or a :class:`Rejection` for each record. An adapter never raises on bad
input, never stops at a bad record and reads the stream piece by piece, so a huge file needs
little memory:

========================  ==============================================================
module                    format
========================  ==============================================================
:mod:`.jsonl`             JSON Lines, the canonical form
:mod:`.csv_`              CSV with a documented flat column mapping
:mod:`.geojson_`          GeoJSON FeatureCollection of Points
:mod:`.cot`               Cursor on Target XML events (and back), TCP stream splitting
:mod:`.tak`               TAK protocol version 1 (mesh and stream framing, protobuf)
:mod:`.klv`               MISB ST 0601 UAS Datalink Local Set (KLV), and an encoder
========================  ==============================================================

No adapter touches a database or the network: the intake of :mod:`ceasefire.ingest` stores
what they yield. :mod:`.formats` is the registry of file formats (name, suffixes, sniffer,
parser) that ``ceasefire ingest`` uses, open to formats of other packages through the entry
point group ``ceasefire.formats``; :mod:`.rejects` writes the reject file.
"""

from ceasefire.intake._common import IntakeItem
from ceasefire.intake.errors import Rejection

__all__ = ["IntakeItem", "Rejection"]
