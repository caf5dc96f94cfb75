"""Security scanner for AI agent skill packages."""

__version__ = "0.1.0"
