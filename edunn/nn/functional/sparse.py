"""embedding and embedding_bag (lesson 08)."""

__all__: list = []
