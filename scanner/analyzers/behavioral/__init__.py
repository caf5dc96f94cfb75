"""Dataflow analysis of a skill's code (the `behavioral` analyzer)."""
