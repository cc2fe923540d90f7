"""Allow `python -m arb`."""

from arb.cli import main

main()
