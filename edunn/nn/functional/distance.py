"""cosine_similarity, pairwise_distance (lesson 08)."""

__all__: list = []
