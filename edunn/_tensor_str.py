"""How a tensor prints: ``tensor([0.1235, 2.0000], requires_grad=True)``, exactly as PyTorch.

The rules are PyTorch's (``torch/_tensor_str.py``), applied to a host copy of the data:

* one :class:`_Formatter` looks at every value that will be shown and picks a single style for
  the whole tensor -- integers with a trailing dot (``1.``), fixed point with ``precision``
  digits (``0.1235``), or scientific (``1.0000e-05``) when the nonzero magnitudes span more than
  a factor of 1000, exceed 1e8 or fall below 1e-4 -- and a common width, so columns line up;
* above ``threshold`` elements only ``edgeitems`` rows/columns at each end are shown, with ``...``;
* suffixes name what the values do not show: a non-default dtype, a device other than the CPU,
  ``requires_grad=True`` on a leaf or ``grad_fn=<MulBackward>`` on a computed tensor;
* complex numbers print as ``1.0000+2.0000j``: the real parts share one formatter and the
  imaginary parts another (``tensor([1.+2.j, 3.-1.j])``); complex64 -- or complex128 when the
  default dtype is float64 -- is the default complex type and gets no dtype suffix.

``edunn.set_printoptions`` changes the options, as ``torch.set_printoptions``.  Lesson 01 shows it.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any

from . import backend

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


class _PrinterOptions:
    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self) -> None:
        self.precision = 4
        self.threshold: float = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()

_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print (``torch.set_printoptions``): ``precision`` digits after the point
    (4), summarise above ``threshold`` elements (1000) showing ``edgeitems`` at each end (3),
    wrap at ``linewidth`` characters (80); ``sci_mode`` True/False forces or forbids scientific
    notation, None chooses automatically.  ``profile`` is ``"default"``, ``"short"`` or ``"full"``.
    As in PyTorch, ``sci_mode`` is reset to None unless given."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current options, as keyword arguments for :func:`set_printoptions`."""
    return {name: getattr(PRINT_OPTS, name) for name in _PrinterOptions.__slots__}


@contextlib.contextmanager
def printoptions(**kwargs: Any):
    """Change the print options inside a ``with`` block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ----------------------------------------------------------------------------------------------
# formatting values
# ----------------------------------------------------------------------------------------------
class _Formatter:
    """One style and one width for all the values of a tensor (PyTorch's ``_Formatter``)."""

    def __init__(self, array: Any, floating: bool) -> None:
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        xp = backend.array_module(array)
        flat = array.reshape(-1)
        if not floating:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        vals = flat[xp.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        abs_vals = xp.abs(vals).astype(backend.float64.np)
        vmin, vmax = float(abs_vals.min()), float(abs_vals.max())
        self.int_mode = not bool((vals != xp.ceil(vals)).any())
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        values = vals.tolist()
        if self.sci_mode:
            width = max(len(f"{v:.{p}e}") for v in values)
        elif self.int_mode:
            width = max(len(f"{v:.0f}") + 1 for v in values)  # + 1 for the trailing "."
        else:
            width = max(len(f"{v:.{p}f}") for v in values)
        self.max_width = max(self.max_width, width)

    def width(self) -> int:
        return self.max_width

    def format(self, value: Any) -> str:
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _summarized(array: Any) -> Any:
    """Only the values that a summarised print shows (``edgeitems`` at each end of every dim)."""
    xp = backend.array_module(array)
    e = PRINT_OPTS.edgeitems
    if array.ndim == 0:
        return array
    if array.ndim == 1:
        return xp.concatenate((array[:e], array[-e:])) if array.shape[0] > 2 * e else array
    if not e:
        return array[(slice(0, 0),) * array.ndim]
    rows = list(range(e)) + list(range(array.shape[0] - e, array.shape[0])) \
        if array.shape[0] > 2 * e else range(array.shape[0])
    return xp.stack([_summarized(array[i]) for i in rows])


def _value_str(value: Any, fmt: _Formatter, fmt_imag: _Formatter | None) -> str:
    """One value; a complex one as its real part, then the signed imaginary part and ``j``."""
    if fmt_imag is None:
        return fmt.format(value)
    real_str = fmt.format(value.real)
    imag_str = (fmt_imag.format(value.imag) + "j").lstrip()
    return real_str + imag_str if imag_str[0] in "+-" else real_str + "+" + imag_str


def _vector_str(array: Any, indent: int, summarize: bool, fmt: _Formatter,
                fmt_imag: _Formatter | None = None) -> str:
    element_length = fmt.width() + 2
    if fmt_imag is not None:  # the imaginary part and its "j"
        element_length += fmt_imag.width() + 1
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and array.shape[0] > 2 * e:
        data = ([_value_str(v, fmt, fmt_imag) for v in array[:e].tolist()] + [" ..."]
                + [_value_str(v, fmt, fmt_imag) for v in array[-e:].tolist()])
    else:
        data = [_value_str(v, fmt, fmt_imag) for v in array.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(array: Any, indent: int, summarize: bool, fmt: _Formatter,
                               fmt_imag: _Formatter | None = None) -> str:
    dim = array.ndim
    if dim == 0:
        return _value_str(array.item(), fmt, fmt_imag)
    if dim == 1:
        return _vector_str(array, indent, summarize, fmt, fmt_imag)
    e = PRINT_OPTS.edgeitems
    n = array.shape[0]
    if summarize and n > 2 * e:
        slices = ([_tensor_str_with_formatter(array[i], indent + 1, summarize, fmt, fmt_imag) for i in range(e)]
                  + ["..."]
                  + [_tensor_str_with_formatter(array[i], indent + 1, summarize, fmt, fmt_imag)
                     for i in range(n - e, n)])
    else:
        slices = [_tensor_str_with_formatter(array[i], indent + 1, summarize, fmt, fmt_imag) for i in range(n)]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(array: Any, floating: bool, indent: int) -> str:
    if array.size == 0:
        return "[]"
    summarize = array.size > PRINT_OPTS.threshold
    if array.dtype.kind == "c":  # one formatter for the real parts, one for the imaginary parts
        shown = _summarized(array) if summarize else array
        return _tensor_str_with_formatter(array, indent, summarize, _Formatter(shown.real, True),
                                          _Formatter(shown.imag, True))
    if floating and array.dtype.itemsize < 4:  # float16/bfloat16: exact in float32, and
        array = array.astype(backend.float32.np)  # every NumPy function knows float32
    fmt = _Formatter(_summarized(array) if summarize else array, floating)
    return _tensor_str_with_formatter(array, indent, summarize, fmt)


def _add_suffixes(tensor_str: str, suffixes: list, indent: int) -> str:
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t: Any) -> str:
    """``repr(tensor)``: PyTorch's text for the same values, dtype, device and autograd state."""
    cls = type(t)
    prefix = "tensor(" if cls.__module__.startswith("edunn") else f"{cls.__name__}("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dtype = t.dtype
    array = backend.to_numpy(t._data)
    default_complex = backend.default_complex_dtype()
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype is not backend.get_default_dtype():  # PyTorch names even complex64 here
            suffixes.append(f"dtype={dtype!r}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype not in (backend.get_default_dtype(), default_complex, backend.int64, backend.bool_):
            suffixes.append(f"dtype={dtype!r}")
        body = _tensor_str(array, dtype.is_floating_point, indent)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
