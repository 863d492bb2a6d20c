"""Allow ``python -m assetgrade.cli``."""

from assetgrade.cli.app import main

main()
