"""One LSTM time step's elementwise work as one GPU kernel each way (``edunn._kernels``).

The array path (``_lstm_arrays``) spends nine elementwise operations per step in the forward
(gate pre-activations, one ``tanh`` for all gates, the cell and hidden state) and six in the
backward, plus the gate factors of every block of steps: on a GPU, where each is a kernel
launch, a 35-step LSTM is some seven hundred launches around its seventy small matrix products.
These bodies do a step's elementwise work in one launch, with the array path's arithmetic, in
the array path's order.  One thread handles one (row, hidden unit): it reads and writes that
unit's four gate columns ``j, H + j, 2H + j, 3H + j`` of the raw gate rows.  Checked against the
array path by ``tests/nn/test_lstm_kernels.py`` without a GPU."""
from __future__ import annotations

import functools

from ..._kernels import KernelSpec

_COLUMNS = """
const long long row = (i / hidden) * 4 * hidden, j = i % hidden;
const long long ci = row + j, cf = ci + hidden, cg = cf + hidden, co = cg + hidden;
"""

# gates: the step's rows of the gate buffer (pre-activations of x W_ih^T, scaled: see
# _lstm_arrays._gate_scale), replaced by the activations; gh: h_{t-1} W_hh^T, scaled likewise
_FORWARD = _COLUMNS + """
const T ai = tanh(gates[ci] + gh[ci]) * (T)0.5 + (T)0.5;
const T af = tanh(gates[cf] + gh[cf]) * (T)0.5 + (T)0.5;
const T ag = tanh(gates[cg] + gh[cg]) + (T)0;  /* as the array path's "+ shift": -0 becomes +0 */
const T ao = tanh(gates[co] + gh[co]) * (T)0.5 + (T)0.5;
gates[ci] = ai; gates[cf] = af; gates[cg] = ag; gates[co] = ao;
c = af * cp + ai * ag;
tc = tanh(c);
h = ao * tc;
"""

# dh_in: dL/dh from the step after; d_out: dL/dh from the output at this step; dc: dL/dc from
# the step after, replaced by dL/dc_{t-1}; dgates: dL/d(pre-activations), the rows of dG
_BACKWARD = _COLUMNS + """
const T ai = gates[ci], af = gates[cf], ag = gates[cg], ao = gates[co];
const T dh = dh_in + d_out;
const T otc = ((T)1 - tc * tc) * ao;
const T dct = dh * otc + dc;
dgates[ci] = dct * (ag * (((T)1 - ai) * ai));
dgates[cf] = dct * (cp * (((T)1 - af) * af));
dgates[cg] = dct * (ai * ((T)1 - ag * ag));
dgates[co] = dh * (tc * (((T)1 - ao) * ao));
dc = dct * af;
"""


@functools.lru_cache(maxsize=None)
def lstm_cell_forward_kernel() -> KernelSpec:
    """Per (row, unit) of a step: the gates' activations (in place), ``c``, ``tanh(c)``, ``h``."""
    return KernelSpec("edunn_lstm_cell_forward", ("raw T gh", "T cp"), ("int64 hidden",),
                      ("raw T gates", "T c", "T tc", "T h"), _FORWARD.strip(), reduce_dims=False)


@functools.lru_cache(maxsize=None)
def lstm_cell_backward_kernel() -> KernelSpec:
    """Per (row, unit) of a step: ``dL/d(gate pre-activations)`` and ``dL/dc_{t-1}`` (in place of
    ``dc``), from the step's saved activations (no projection: ``proj_size=0``)."""
    return KernelSpec("edunn_lstm_cell_backward", ("raw T gates", "T tc", "T cp", "T dh_in", "T d_out"),
                      ("int64 hidden",), ("raw T dgates", "T dc"), _BACKWARD.strip(), reduce_dims=False)
