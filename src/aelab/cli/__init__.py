"""aelab's command line: parses options, calls the Python API, prints results."""

from aelab.cli.app import app, main

__all__ = ["app", "main"]
