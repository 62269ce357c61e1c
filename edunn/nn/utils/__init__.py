"""``edunn.nn.utils``: helpers around modules (``rnn`` comes with the recurrent layers)."""
from . import rnn  # noqa: F401
