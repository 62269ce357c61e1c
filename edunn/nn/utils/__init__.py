"""``edunn.nn.utils``: helpers around modules (``rnn`` comes with the recurrent layers)."""
