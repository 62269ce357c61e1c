"""Every differentiable op of edunn: one ``Function`` subclass per op, grouped by kind.

* ``broadcast.py``   -- ``sum_to``/``broadcast_to``: the one place broadcast gradients are reduced
* ``elementwise.py`` -- ``+ - * / ** ...``, unary math, comparisons (``_operands.py``: the dtype
  promotion and operand helpers every elementwise op starts with; ``unary.py``,
  ``trigonometric.py``, ``binary.py``: the rest of the elementwise math)
* ``complex.py``     -- ``real``, ``imag``, ``view_as_real``, ``complex``, ``polar``, ``angle``, ``conj`` ...
* ``reduction.py``   -- ``sum``, ``mean``, ``max``, ``var``, ``logsumexp``, ``cumsum`` ...
* ``shape.py``       -- ``reshape``, ``transpose``, ``cat``, ``split``, ``pad`` ...
  (``rearranging.py``: ``repeat``, ``tile``, ``flip``, ``roll``, ``rot90``)
* ``indexing.py``    -- ``x[i]``, ``x[i] = v``, ``where`` ... (``scatter_gather.py``: ``gather``,
  ``scatter``, ``scatter_add``, ``scatter_reduce``, ``take_along_dim``)
* ``linalg.py``      -- ``matmul``, ``einsum`` ...
* ``sorting.py``     -- ``sort``, ``topk`` ...
* ``conversion.py``  -- ``to(dtype|device)``, ``copy_``
* ``creation.py``    -- ``tensor``, ``zeros``, ``rand`` ... (not differentiable)
* ``differences.py`` -- ``diff``, ``trapezoid``, ``cumulative_trapezoid``, ``cdist``, ``dist``
* ``covariance.py``  -- ``cov``, ``corrcoef``;  ``histograms.py`` -- ``histogram``, ``histogramdd``
* ``construction.py`` -- ``block_diag``, ``cartesian_prod``, ``combinations``, ``vander``, ``tril_indices`` ...
* ``scatter_views.py`` -- ``select`` and ``select_scatter``, ``slice_scatter``, ``diagonal_scatter``
* ``strided.py``     -- ``as_strided``, ``as_strided_``, ``as_strided_scatter``: views of a tensor's storage
* ``utilities.py``   -- ``isin``, ``unravel_index``, ``renorm``, ``rsub``, ``fill``, determinism flags ...
* ``windows.py``     -- ``hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``, ``kaiser_window``
  (and the formulas of ``edunn.signal.windows``);  ``spectral.py`` -- ``stft``, ``istft``
* ``gamma.py``, ``normal.py``, ``bessel.py`` (+ ``_bessel_tables.py``), ``polynomials.py`` -- the
  special functions: ``lgamma``, ``digamma``, ``zeta``, ``igamma``; ``ndtr``, ``erfcx``; ``i0``,
  ``bessel_j0``, ``airy_ai``; Chebyshev, Hermite, Laguerre, Legendre (``edunn.special`` gathers them)
* ``decompositions.py``, ``solvers.py``, ``matfuncs.py``, ``ldl.py`` -- ``svd``, ``qr``, ``eigh``,
  ``cholesky``, LU, ``solve``, ``lstsq``, ``pinv``, ``matrix_exp`` ... (``edunn.linalg`` presents them)
"""

import warnings as _warnings

# NumPy warns when a float op overflows, divides by zero or makes a NaN (``1e30 * 1e30``,
# ``0 / 0``); PyTorch returns the same inf/NaN silently, and so does edunn.  The filter matches
# only warnings raised from edunn's own modules, so a user's NumPy code still warns.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"edunn\.(ops|nn|optim)\b")

