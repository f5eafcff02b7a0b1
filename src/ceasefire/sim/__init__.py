"""The simulator: drone sorties, ground truth, what the sensors saw, and the files of it.

``simulate(mission, hours, seed, start)`` gives a :class:`Scenario`; ``write_scenario``
writes each contingent's observations (JSON Lines and CoT) and drone tracks (CoT), the
parties' complaints, the ground truth and a summary. See docs/simulator.md.

One module per concept: :mod:`~ceasefire.sim.platforms` (figures), :mod:`~ceasefire.sim.lines`
(the line of contact in metres), :mod:`~ceasefire.sim.daylight` (day or night),
:mod:`~ceasefire.sim.flights` (sorties), :mod:`~ceasefire.sim.posts` (posts and patrols),
:mod:`~ceasefire.sim.events` (the truth), :mod:`~ceasefire.sim.launches` (launches paired
with their impacts), :mod:`~ceasefire.sim.sensing` (who saw what),
:mod:`~ceasefire.sim.scenario` (all of it, and the files).
"""

from ceasefire.sim.scenario import DEFAULT_START, Scenario, simulate, write_scenario

__all__ = ["DEFAULT_START", "Scenario", "simulate", "write_scenario"]
