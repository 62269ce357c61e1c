"""Every differentiable op of edunn: one ``Function`` subclass per op, grouped by kind.

* ``broadcast.py``   -- ``sum_to``/``broadcast_to``: the one place broadcast gradients are reduced
* ``elementwise.py`` -- ``+ - * / ** ...``, unary math, comparisons
* ``reduction.py``   -- ``sum``, ``mean``, ``max``, ``var``, ``logsumexp``, ``cumsum`` ...
* ``shape.py``       -- ``reshape``, ``transpose``, ``cat``, ``split``, ``pad`` ...
* ``indexing.py``    -- ``x[i]``, ``x[i] = v``, ``gather``, ``scatter``, ``where`` ...
* ``linalg.py``      -- ``matmul``, ``einsum`` ...
* ``sorting.py``     -- ``sort``, ``topk`` ...
* ``conversion.py``  -- ``to(dtype|device)``, ``copy_``
* ``creation.py``    -- ``tensor``, ``zeros``, ``rand`` ... (not differentiable)
"""

import warnings as _warnings

# NumPy warns when a float op overflows, divides by zero or makes a NaN (``1e30 * 1e30``,
# ``0 / 0``); PyTorch returns the same inf/NaN silently, and so does edunn.  The filter matches
# only warnings raised from edunn's own modules, so a user's NumPy code still warns.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"edunn\.(ops|nn|optim)\b")

