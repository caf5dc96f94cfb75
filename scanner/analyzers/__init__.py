"""Analyzers, each registered by name when its module is imported here."""

from scanner.analyzers import behavioral, files, manifest, signatures, unicode

__all__ = ["behavioral", "files", "manifest", "signatures", "unicode"]
