"""Where a record is checked, enriched, stored, logged and correlated (:mod:`.pipeline`), and
the CoT listeners that feed it over the network (:mod:`.listeners`).

The adapters of :mod:`ceasefire.intake` turn bytes into records or rejections; this room takes
those records into the store. The :class:`~ceasefire.center.Center` makes its intakes."""

from ceasefire.ingest.pipeline import Intake, IntakeResult, Outcome

__all__ = ["Intake", "IntakeResult", "Outcome"]
