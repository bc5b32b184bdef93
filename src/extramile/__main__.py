"""Allow `python -m extramile COMMAND`."""

from extramile.cli import main

main()
