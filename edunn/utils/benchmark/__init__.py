"""``edunn.utils.benchmark``: time code and compare the results (PyTorch's
``torch.utils.benchmark``).

* ``timer.py``   -- ``Timer`` (``timeit``, ``blocked_autorange``, ``adaptive_autorange``);
* ``common.py``  -- ``Measurement`` (median, IQR, significant figures, ``merge``), ``TaskSpec``
  and the unit helpers;
* ``compare.py`` -- ``Compare``, the table of many measurements;
* ``fuzzer.py``, ``sparse_fuzzer.py`` -- random inputs (``Fuzzer``, ``FuzzedTensor`` ...);
* ``callgrind.py`` -- instruction-count containers (``CallgrindStats`` ...).

    t = Timer("x @ x", setup="x = torch.randn(64, 64)", label="matmul", description="64")
    Compare([t.blocked_autorange()]).print()
"""
from .common import *  # noqa: F401,F403
from .timer import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from .fuzzer import *  # noqa: F401,F403
from .callgrind import *  # noqa: F401,F403
from .sparse_fuzzer import *  # noqa: F401,F403
