"""``edunn.quasirandom``: the Sobol' low-discrepancy sequence, as ``torch.quasirandom``.

A Sobol' sequence fills ``[0, 1)^dimension`` far more evenly than independent uniform draws: the
first ``2^m`` points put exactly one point in each of ``2^m`` equal boxes of the unit cube's
elementary partitions (the "balance" that ``draw_base2`` protects).  Coordinate ``d`` of point
``k`` is a XOR of *direction numbers* ``v_{d,0..29}`` (30-bit integers): in Antonov & Saleev's
Gray-code order each new point differs from the previous one by one direction number,

    x_{k+1} = x_k ^ v_{d, c(k)},   c(k) = the index of the lowest zero bit of k,

and the float is ``x / 2^30``.  The direction numbers come from Joe & Kuo's table (primitive
polynomials and initial values for 21201 dimensions), which PyTorch compiles into C++; edunn stores
the same table in ``edunn/data/sobol_directions.npz`` (made from the installed PyTorch by
``tools/extract_sobol_directions.py``) and expands it with Bratley & Fox's recurrence.  A whole
draw is one gather and one cumulative XOR, never a loop over points or dimensions.

Scrambling (Owen's linear matrix scrambling plus a digital shift) multiplies every dimension's
direction-number bit matrix by a random lower-triangular bit matrix and XORs a random shift, as
``torch._sobol_engine_scramble_`` does.  Unscrambled sequences equal PyTorch's bit for bit.  The
scrambled ones use edunn's generator (NumPy's PCG64, not PyTorch's Mersenne Twister), so for the
same ``seed`` they are a different -- equally valid -- scrambling; given the same random bits the
scrambling itself is PyTorch's exactly (the tests check it).
"""
from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING, Any

from . import backend

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["SobolEngine"]

MAXBIT, MAXDIM = 30, 21201
_DATA = pathlib.Path(__file__).resolve().parent / "data" / "sobol_directions.npz"
_table: Any = None


def _xp():
    """NumPy: PyTorch's SobolEngine lives on the CPU, and so does this one."""
    return backend.xp_for(backend.as_device("cpu"))


def _direction_numbers(dimension: int) -> Any:
    """The ``(dimension, 30)`` int64 direction numbers ``m_{d,j} 2^(29-j)``, as
    ``torch._sobol_engine_initialize_state_`` makes them.  Row 0 is all ones (the van der Corput
    sequence); row ``d`` starts with the table's ``s_d`` initial values and continues with

        m_j = m_{j-s} ^ (m_{j-s} << s) ^ XOR_{k=1}^{s-1} a_k (m_{j-k} << k)

    where ``a_k`` is bit ``s - k`` of the polynomial -- vectorised over dimensions."""
    global _table
    xp = _xp()
    if _table is None:
        with xp.load(_DATA) as f:
            _table = (f["poly"].astype(xp.int64), f["init"].astype(xp.int64))
    poly_all, init_all = _table
    poly = poly_all[:dimension]
    deg = xp.zeros(dimension, xp.int64)
    deg[1:] = xp.floor(xp.log2(poly[1:])).astype(xp.int64)  # degree = bit_length - 1
    m = xp.zeros((dimension, MAXBIT), xp.int64)
    m[0] = 1
    rows = xp.repeat(xp.arange(dimension), deg)
    starts = xp.cumsum(deg) - deg
    cols = xp.arange(rows.size) - starts[rows]
    m[rows, cols] = init_all[:rows.size]
    idx = xp.arange(dimension)
    for j in range(1, MAXBIT):
        todo = (idx > 0) & (deg <= j)
        if not todo.any():
            continue
        d, s = idx[todo], deg[todo]
        prev = m[d, j - s]
        new = prev ^ (prev << s)
        for k in range(1, int(s.max())):
            use = (k < s) & (((poly[d] >> xp.maximum(s - k, 0)) & 1) == 1)
            new = xp.where(use, new ^ (m[d, j - k] << k), new)
        m[d, j] = new
    return m << xp.arange(MAXBIT - 1, -1, -1)


def _scramble_directions(state: Any, ltm: Any) -> Any:
    """``torch._sobol_engine_scramble_``: with ``L_d`` the lower-triangular bit matrix of
    dimension ``d`` (its diagonal set to 1), bit ``p`` (from the top) of the new direction number
    ``j`` is the parity of ``L_d[p, :] . bits(v_{d,j})`` -- a batched matrix product mod 2."""
    xp = _xp()
    lower = ltm.copy()
    diag = xp.arange(MAXBIT)
    lower[:, diag, diag] = 1
    shifts = xp.arange(MAXBIT - 1, -1, -1)  # column k of L weighs bit 29-k
    bits = (state[:, :, None] >> shifts) & 1  # (dim, j, k): bit 29-k of v_{d,j}
    parity = (bits @ xp.swapaxes(lower, 1, 2)) & 1  # (dim, j, p)
    return (parity << shifts).sum(-1)


def _gray_draw(quasi: Any, n: int, state: Any, num_generated: int) -> tuple[Any, Any]:
    """``n`` further points after ``num_generated``: the running XOR of the direction numbers
    ``v_{., c(k)}`` for ``k = num_generated, ..., num_generated + n - 1``.  Returns the integer
    points ``(n, dimension)`` and the new state (the last point)."""
    xp = _xp()
    if n <= 0:
        return xp.empty((0, quasi.shape[0]), xp.int64), quasi
    k = xp.arange(num_generated, num_generated + n, dtype=xp.int64)
    lowest_zero = xp.round(xp.log2((k ^ (k + 1)) + 1)).astype(xp.int64) - 1
    steps = state[:, lowest_zero].T  # (n, dimension)
    points = quasi[None, :] ^ backend.ufunc_accumulate("bitwise_xor", steps, 0)
    return points, points[-1].copy()


class SobolEngine:
    r"""An engine for (scrambled) Sobol' sequences in up to 21201 dimensions
    (``torch.quasirandom.SobolEngine``).

    Args:
        dimension (int): the dimensionality of the points, in ``[1, 21201]``.
        scramble (bool): Owen-scramble the sequence (random linear matrix scramble plus digital
            shift). Default: ``False``.
        seed (int, optional): seed of the scrambling's own generator; ``None`` draws from
            edunn's default CPU generator.

    Example::

        >>> soboleng = edunn.quasirandom.SobolEngine(dimension=5)
        >>> soboleng.draw(3)
        tensor([[0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
                [0.5000, 0.5000, 0.5000, 0.5000, 0.5000],
                [0.7500, 0.2500, 0.2500, 0.2500, 0.7500]])
    """

    MAXBIT = MAXBIT
    MAXDIM = MAXDIM

    def __init__(self, dimension, scramble=False, seed=None):
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError("Supported range of dimensionality "
                             f"for SobolEngine is [1, {self.MAXDIM}]")
        from .tensor import Tensor
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        xp = _xp()
        state = _direction_numbers(dimension)
        if not self.scramble:
            shift = xp.zeros(dimension, xp.int64)
        else:
            state, shift = self._scramble(state)
        self.sobolstate = Tensor._make(state)
        self.shift = Tensor._make(shift)
        self.quasi = self.shift.clone()
        self._first_point = (self.quasi / 2 ** self.MAXBIT).reshape(1, -1)
        self.num_generated = 0

    def _scramble(self, state: Any) -> tuple[Any, Any]:
        """A random digital shift and random lower-triangular matrices, drawn as PyTorch draws
        them (``randint(2, ...)``, shift first), from a generator seeded with ``seed``."""
        from .ops.creation import randint
        g = None
        if self.seed is not None:
            g = backend.Generator("cpu")
            g.manual_seed(self.seed)
        xp = _xp()
        shift_ints = randint(2, (self.dimension, self.MAXBIT), generator=g)._data
        shift = shift_ints @ (xp.int64(2) ** xp.arange(self.MAXBIT, dtype=xp.int64))
        ltm = xp.tril(randint(2, (self.dimension, self.MAXBIT, self.MAXBIT), generator=g)._data)
        return _scramble_directions(state, ltm), shift

    def _draw(self, n: int, num_generated: int, dtype: Any) -> Any:
        from .tensor import Tensor
        points, quasi = _gray_draw(self.quasi._data, n, self.sobolstate._data, num_generated)
        self.quasi = Tensor._make(quasi)
        # as PyTorch: the integer times 2^-30 in double, then cast to the requested dtype
        return Tensor._make((points * (1.0 / (1 << self.MAXBIT))).astype(backend.as_dtype(dtype).np))

    def draw(self, n: int = 1, out: "Tensor | None" = None, dtype: "backend.dtype | None" = None) -> "Tensor":
        r"""The next ``n`` points of the sequence, shape ``(n, dimension)``, in ``dtype`` (default:
        the default dtype).  Each call continues where the last one stopped."""
        from .ops.shape import cat
        if dtype is None:
            dtype = backend.get_default_dtype()
        if self.num_generated == 0:
            if n == 1:
                result = self._first_point.to(dtype)
            else:
                result = cat((self._first_point.to(dtype), self._draw(n - 1, 0, dtype)), dim=-2)
        else:
            result = self._draw(n, self.num_generated - 1, dtype)
        self.num_generated += n
        if out is not None:
            out.resize_as_(result).copy_(result)
            return out
        return result

    def draw_base2(self, m: int, out: "Tensor | None" = None, dtype: "backend.dtype | None" = None) -> "Tensor":
        r"""The next ``2**m`` points; refuses to break the balance of the sequence (the total
        drawn so far must stay a power of two)."""
        n = 2 ** m
        total_n = self.num_generated + n
        if not (total_n & (total_n - 1) == 0):
            raise ValueError(
                "The balance properties of Sobol' points require "
                f"n to be a power of 2. {self.num_generated} points have been "
                f"previously generated, then: n={self.num_generated}+2**{m}={total_n}. "
                "If you still want to do this, please use "
                "'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> "SobolEngine":
        r"""Back to the first point."""
        self.quasi.copy_(self.shift)
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> "SobolEngine":
        r"""Skip ``n`` points, as if they had been drawn."""
        from .tensor import Tensor
        start = 0 if self.num_generated == 0 else self.num_generated - 1
        steps = n - 1 if self.num_generated == 0 else n
        if steps > 0:
            _, quasi = _gray_draw(self.quasi._data, steps, self.sobolstate._data, start)
            self.quasi = Tensor._make(quasi)
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        fmt_string = [f"dimension={self.dimension}"]
        if self.scramble:
            fmt_string += ["scramble=True"]
        if self.seed is not None:
            fmt_string += [f"seed={self.seed}"]
        return self.__class__.__name__ + "(" + ", ".join(fmt_string) + ")"
