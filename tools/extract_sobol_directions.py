"""Extract the Sobol' direction numbers from the installed PyTorch into ``edunn/data/sobol_directions.npz``.

PyTorch compiles Joe & Kuo's table (21201 dimensions, search criterion D(6)) into its C++ library
and exposes only the expanded state: ``torch._sobol_engine_initialize_state_`` fills a
``(dimension, 30)`` table whose row ``d`` holds the direction numbers ``v_{d,j} = m_{d,j} 2^(29-j)``.
The table itself -- a primitive polynomial ``p_d`` of degree ``s_d`` and ``s_d`` initial values
``m_{d,0..s_d-1}`` per dimension -- is what ``edunn.quasirandom`` stores, because it is ~15 times
smaller than the expanded state.  We recover it from the expanded state: Bratley & Fox's recurrence

    m_j = m_{j-s} ^ (m_{j-s} << s) ^ XOR_{k=1}^{s-1} a_k (m_{j-k} << k)

is linear over GF(2) in the polynomial's inner coefficients ``a_k``, so for each candidate degree
``s`` we solve for them by Gaussian elimination and keep the smallest ``s`` that regenerates all 30
columns exactly.  The script then re-expands the stored table with edunn's own code and checks it
equals PyTorch's state bit for bit.

Run from the repository root:  python tools/extract_sobol_directions.py
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import torch

MAXBIT, MAXDIM, MAXDEG = 30, 21201, 18
OUT = pathlib.Path(__file__).resolve().parents[1] / "edunn" / "data" / "sobol_directions.npz"


def solve_gf2(columns: list[int], target: int) -> list[int] | None:
    """``x`` with ``XOR_k x_k columns[k] == target`` (big integers as bit vectors), or None."""
    basis: dict[int, tuple[int, int]] = {}  # pivot bit -> (vector, combination of columns)
    for k, col in enumerate(columns):
        vec, comb = col, 1 << k
        while vec:
            top = vec.bit_length() - 1
            if top not in basis:
                basis[top] = (vec, comb)
                break
            vec ^= basis[top][0]
            comb ^= basis[top][1]
    vec, comb = target, 0
    while vec:
        top = vec.bit_length() - 1
        if top not in basis:
            return None
        vec ^= basis[top][0]
        comb ^= basis[top][1]
    return [(comb >> k) & 1 for k in range(len(columns))]


def recover(m: list[int]) -> tuple[int, list[int]]:
    """The polynomial (as an int, torch's encoding) and initial values that generate ``m``."""
    for s in range(1, MAXDEG + 1):
        def pack(values):
            return sum(v << (64 * i) for i, v in enumerate(values))
        js = range(s, MAXBIT)
        target = pack([m[j] ^ m[j - s] ^ (m[j - s] << s) for j in js])
        columns = [pack([m[j - k] << k for j in js]) for k in range(1, s)]
        x = solve_gf2(columns, target)
        if x is not None:
            # bit (s - k) of p carries a_k; the top and bottom bits are always set
            poly = (1 << s) | 1 | sum(xk << (s - k) for k, xk in zip(range(1, s), x))
            return poly, m[:s]
    raise RuntimeError(f"no recurrence of degree <= {MAXDEG} generates {m}")


def main() -> None:
    state = torch.zeros(MAXDIM, MAXBIT, dtype=torch.long)
    torch._sobol_engine_initialize_state_(state, MAXDIM)
    mvals = (state.numpy() >> np.arange(MAXBIT - 1, -1, -1)).tolist()
    polys, inits = [1], []
    for d in range(1, MAXDIM):
        poly, init = recover(mvals[d])
        polys.append(poly)
        inits.extend(init)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, poly=np.asarray(polys, np.uint32), init=np.asarray(inits, np.uint32))
    sys.path.insert(0, str(OUT.parents[2]))
    from edunn.quasirandom import _direction_numbers
    ours = _direction_numbers(MAXDIM)
    if not np.array_equal(ours, state.numpy()):
        raise SystemExit("the stored table does not regenerate PyTorch's state")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); regenerates torch's {MAXDIM}x{MAXBIT} state exactly")


if __name__ == "__main__":
    main()
