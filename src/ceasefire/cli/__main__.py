"""`python -m ceasefire.cli` is the `ceasefire` command."""

from ceasefire.cli import main

main()
