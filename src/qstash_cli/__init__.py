"""qstash: command-line tool for Upstash QStash, and `qstash dev`, a local QStash-compatible server."""

__version__ = "0.1.0"
