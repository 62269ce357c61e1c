"""``edunn.nn.functional``: the stateless math of every layer (``import edunn.nn.functional as F``).

Each layer's equation lives here once; a ``Module`` in ``edunn.nn`` holds the state (weights,
buffers, options) and calls these functions.  PyTorch keeps them in one file
(``torch/nn/functional.py``); edunn splits them by family so that no file grows past a few hundred
lines, and re-exports everything here under PyTorch's names.
"""
from ...ops.padding import pad
from .activation import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from . import rnn  # noqa: F401  (the recurrent cells: rnn.lstm_cell ...)
from .attention import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .grid_sample import *  # noqa: F401,F403
from .linear_cross_entropy import *  # noqa: F401,F403
from .conv_tbc import *  # noqa: F401,F403
