"""ceasefire: a joint ceasefire monitoring center.

Observations of a ceasefire line go in; incidents, joint findings, decisions, notices and a
record that neither contingent can rewrite come out. The library comes first: the command line
and the web layer are thin shells over it.
"""

__version__ = "0.1.0"
