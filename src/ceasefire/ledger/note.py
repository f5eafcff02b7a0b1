"""The ledger's signed notes and keys: the shared C2SP format of :mod:`ceasefire.note` (a mission's
keys, the webhooks' and the nodes' signatures use it too), named here for the ledger's modules."""

from ceasefire.note import *  # noqa: F403
