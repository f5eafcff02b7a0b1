"""A contingent's witness on its own node, served over HTTP (:mod:`.server`), and the client
the center asks such witnesses with (:mod:`.client`).

The witness's rules and state are the ledger's (:mod:`ceasefire.ledger.witness`,
:mod:`ceasefire.ledger.cosign`); this room only puts them on the network, as the web layer
puts the center's API."""
