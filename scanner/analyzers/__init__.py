"""Analyzers, each registered by name when its module is imported here."""

from scanner.analyzers import files, manifest, signatures, unicode

__all__ = ["files", "manifest", "signatures", "unicode"]
