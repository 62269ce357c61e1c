"""Dropout and its relatives (lesson 08)."""

__all__: list = []
