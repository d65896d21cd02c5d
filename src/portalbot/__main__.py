"""`python -m portalbot`: the same as the `portalbot` command."""

from portalbot.cli import run

run()
