"""Kuzet: the command line and the wire contract shared by edge and backend."""

__version__ = "0.1.0"
