"""The version of opsbook (in its own module so that what records it imports nothing else)."""

__version__ = "0.1.0"
