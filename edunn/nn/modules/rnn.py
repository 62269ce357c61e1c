r"""Recurrent layers (lesson 12), as in ``torch/nn/modules/rnn.py``: ``RNNBase``, ``RNN``, ``LSTM``,
``GRU`` over whole sequences, and ``RNNCell``, ``LSTMCell``, ``GRUCell`` for one step.

The modules hold PyTorch's parameters under PyTorch's names and in PyTorch's order
(``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``, ``weight_hr_l{k}``,
``..._reverse`` for the backward direction), so a PyTorch ``state_dict`` loads directly; every
parameter starts as :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`.  The math is in
``edunn.nn.functional.rnn``.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Optional

import edunn
from ...tensor import Tensor
from .. import init
from ..functional import rnn as _F
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _apply_permutation(tensor: Tensor, permutation: Tensor, dim: int = 1) -> Tensor:
    return tensor.index_select(dim, permutation)


class RNNBase(Module):
    r"""The shared machinery of ``RNN``, ``LSTM`` and ``GRU``: parameters, checks, and the call
    into ``edunn.nn.functional.rnn.rnn_forward``.

    Args: ``mode`` ('RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'), ``input_size``, ``hidden_size``,
    ``num_layers`` (default 1), ``bias`` (default True), ``batch_first`` (input and output
    (N, L, *) instead of (L, N, *); default False), ``dropout`` (probability of dropout on every
    layer's output except the last; default 0), ``bidirectional`` (default False), ``proj_size``
    (LSTM only: project h to this size; default 0), ``device``, ``dtype``.
    """

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

        if mode == "LSTM":
            gate_size = 4 * hidden_size
        elif mode == "GRU":
            gate_size = 3 * hidden_size
        elif mode in ("RNN_TANH", "RNN_RELU"):
            gate_size = hidden_size
        else:
            raise ValueError("Unrecognized RNN mode: " + mode)

        self._flat_weights_names: list = []
        self._all_weights: list = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                real_hidden_size = proj_size if proj_size > 0 else hidden_size
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                params = [Parameter(edunn.empty((gate_size, layer_input_size), **factory_kwargs)),
                          Parameter(edunn.empty((gate_size, real_hidden_size), **factory_kwargs))]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    params += [Parameter(edunn.empty(gate_size, **factory_kwargs)),
                               Parameter(edunn.empty(gate_size, **factory_kwargs))]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    params.append(Parameter(edunn.empty((proj_size, hidden_size), **factory_kwargs)))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for name, param in zip(names, params):
                    setattr(self, name, param)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list:
        """The parameters in PyTorch's flat order (always the module's current ones)."""
        return [getattr(self, wn) if hasattr(self, wn) else None for wn in self._flat_weights_names]

    def flatten_parameters(self) -> None:
        """PyTorch packs the weights into one cuDNN buffer here; edunn has no cuDNN: a no-op."""

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self) -> list:
        return [[getattr(self, weight) for weight in weights] for weights in self._all_weights]

    # ------------------------------------------------------------------ checks (PyTorch's messages)
    def check_input(self, input: Tensor, batch_sizes: Optional[Tensor]) -> None:
        w0 = self._flat_weights[0]
        if input.dtype != w0.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w0.dtype}). Convert input: input.to({w0.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Optional[Tensor]) -> tuple:
        if batch_sizes is not None:
            mini_batch = int(batch_sizes[0])
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Optional[Tensor]) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx: Any, permutation: Optional[Tensor]) -> Any:
        if permutation is None:
            return hx
        return _apply_permutation(hx, permutation)

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ------------------------------------------------------------------ forward
    def _prepare(self, input: Any, hx: Any, n_states: int) -> tuple:
        """Unpack/reshape the input to time-major, build or permute ``hx`` as a tuple of states.
        Returns (data, batch_sizes list or None, hx tuple, sorted/unsorted indices, is_batched)."""
        name = {"LSTM": "LSTM", "GRU": "GRU"}.get(self.mode, "RNN")
        num_directions = 2 if self.bidirectional else 1
        sizes = [self.proj_size if self.proj_size > 0 else self.hidden_size, self.hidden_size][:n_states]
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            is_batched, mini = True, int(batch_sizes[0])
        else:
            data, batch_sizes, sorted_indices, unsorted_indices = input, None, None, None
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: expected input to be a Tensor or a PackedSequence, got "
                                f"{type(input).__name__}")
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                                 f"{' tensor' if name != 'LSTM' and name != 'GRU' else ''} instead")
            is_batched = input.dim() == 3
            if not is_batched:
                data = input.unsqueeze(0 if self.batch_first else 1)
            mini = data.size(0) if self.batch_first else data.size(1)
        if hx is None:
            hx = tuple(edunn.zeros((self.num_layers * num_directions, mini, s), dtype=data.dtype,
                                   device=data.device) for s in sizes)
        else:
            hx = tuple(hx) if n_states == 2 else (hx,)
            if not isinstance(input, PackedSequence):
                want = 3 if is_batched else 2
                if any(h.dim() != want for h in hx):
                    kind = "batched 3-D" if is_batched else "unbatched 2-D"
                    if n_states == 2:
                        raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but "
                                           f"got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
                    raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                       f"{hx[0].dim()}-D tensor")
                if not is_batched:
                    hx = tuple(h.unsqueeze(1) for h in hx)
        self.check_input(data, batch_sizes)
        if batch_sizes is None and data.size(1 if self.batch_first else 0) == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        expected = self.get_expected_hidden_size(data, batch_sizes)
        if n_states == 2:
            self.check_hidden_size(hx[0], expected, "Expected hidden[0] size {}, got {}")
            self.check_hidden_size(hx[1], expected[:2] + (self.hidden_size,),
                                   "Expected hidden[1] size {}, got {}")
        else:
            self.check_hidden_size(hx[0], expected)
        if sorted_indices is not None:
            hx = tuple(self.permute_hidden(h, sorted_indices) for h in hx)
        if batch_sizes is None and self.batch_first:
            data = data.transpose(0, 1)
        bs = None if batch_sizes is None else batch_sizes.tolist()
        return data, bs, hx, sorted_indices, unsorted_indices, is_batched

    def _run(self, input: Any, hx: Any, n_states: int) -> tuple:
        data, bs, hx, sorted_indices, unsorted_indices, is_batched = self._prepare(input, hx, n_states)
        out = _F.rnn_forward(self.mode, data, bs, hx, self._flat_weights, self.bias,
                             self.num_layers, self.dropout, self.training, self.bidirectional,
                             self.proj_size)
        output, hidden = out[0], out[1:]
        if isinstance(input, PackedSequence):
            output = PackedSequence(output, input.batch_sizes, sorted_indices, unsorted_indices)
            hidden = tuple(self.permute_hidden(h, unsorted_indices) for h in hidden)
        else:
            if self.batch_first:
                output = output.transpose(0, 1)
            if not is_batched:
                output = output.squeeze(0 if self.batch_first else 1)
                hidden = tuple(h.squeeze(1) for h in hidden)
        return output, (hidden if n_states == 2 else hidden[0])

    def forward(self, input: Any, hx: Any = None) -> tuple:
        return self._run(input, hx, 2 if self.mode == "LSTM" else 1)


class RNN(RNNBase):
    r"""A multi-layer Elman RNN: for each layer and time step,
    :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})` (or ReLU with
    ``nonlinearity='relu'``); a layer's input is the previous layer's output (dropout between).

    Shapes: input (L, N, H_in) (``batch_first``: (N, L, H_in); unbatched (L, H_in)) or a
    ``PackedSequence``; h_0 (D * num_layers, N, H_out) (zeros if omitted).  Returns
    ``(output, h_n)``: output (L, N, D * H_out) (or packed), h_n like h_0; D = 2 if bidirectional.
    Arguments as ``RNNBase`` plus ``nonlinearity`` ('tanh' or 'relu'), the 4th positional one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "nonlinearity" and "_parameters" not in self.__dict__:
            object.__setattr__(self, name, value)  # set before Module.__init__, as PyTorch does
        else:
            super().__setattr__(name, value)


class LSTM(RNNBase):
    r"""A multi-layer LSTM (Hochreiter & Schmidhuber, 1997), for each layer and time step

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}), \;
        f_t = \sigma(\cdot), \; g_t = \tanh(\cdot), \; o_t = \sigma(\cdot), \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)

    and, with ``proj_size > 0``, :math:`h_t = W_{hr} h_t` (Sak et al., 2014).

    Shapes: input as ``RNN``; ``hx = (h_0, c_0)`` with h_0 (D * num_layers, N, H_out) and c_0
    (D * num_layers, N, H_cell), H_out = proj_size or hidden_size.  Returns
    ``(output, (h_n, c_n))``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Optional[Tensor]) -> tuple:
        expected = self.get_expected_hidden_size(input, batch_sizes)
        return expected[:2] + (self.hidden_size,)

    def check_forward_args(self, input: Tensor, hidden: Any, batch_sizes: Optional[Tensor]) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx: Any, permutation: Optional[Tensor]) -> Any:
        if permutation is None:
            return hx
        if isinstance(hx, tuple):
            return tuple(_apply_permutation(h, permutation) for h in hx)
        return _apply_permutation(hx, permutation)


class GRU(RNNBase):
    r"""A multi-layer GRU (Cho et al., 2014), for each layer and time step

    .. math::
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \;
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}), \\
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})), \qquad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Shapes and return value as ``RNN``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """Parameters of a one-step cell: ``weight_ih`` (G*H, H_in), ``weight_hh`` (G*H, H),
    ``bias_ih``, ``bias_hh`` (G*H), G = number of gates, all :math:`U(-1/\\sqrt{H}, 1/\\sqrt{H})`."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(edunn.empty((num_chunks * hidden_size, input_size), **factory_kwargs))
        self.weight_hh = Parameter(edunn.empty((num_chunks * hidden_size, hidden_size), **factory_kwargs))
        if bias:
            self.bias_ih = Parameter(edunn.empty(num_chunks * hidden_size, **factory_kwargs))
            self.bias_hh = Parameter(edunn.empty(num_chunks * hidden_size, **factory_kwargs))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, name: str, input: Tensor, hx: Any, n: int) -> tuple:
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = None if hx is None else (tuple(hx) if n == 2 else (hx,))
        if states is not None:
            for idx, value in enumerate(states):
                if value.dim() not in (1, 2):
                    what = f"hx[{idx}]" if n == 2 else "hidden"
                    raise ValueError(f"{name}: Expected {what} to be 1D or 2D, got {value.dim()}D instead")
        is_batched = input.dim() == 2
        if not is_batched:
            input = input.unsqueeze(0)
        if states is None:
            zeros = edunn.zeros((input.size(0), self.hidden_size), dtype=input.dtype, device=input.device)
            states = (zeros,) * n
        elif not is_batched:
            states = tuple(s.unsqueeze(0) for s in states)
        return input, states, is_batched


class RNNCell(RNNCellBase):
    r"""One Elman step :math:`h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})` (or ReLU).
    Shapes: input (N, H_in) or (H_in), hidden (N, H) or (H) (zeros if omitted) -> h' like hidden."""

    __constants__ = ["input_size", "hidden_size", "bias", "nonlinearity"]

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        input, (h,), is_batched = self._batched("RNNCell", input, hx, 1)
        if self.nonlinearity == "tanh":
            ret = _F.rnn_tanh_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        elif self.nonlinearity == "relu":
            ret = _F.rnn_relu_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return ret if is_batched else ret.squeeze(0)


class LSTMCell(RNNCellBase):
    r"""One LSTM step (gates i, f, g, o as ``LSTM``).  ``hx = (h, c)``, each (N, H) or (H) (zeros
    if omitted); returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[tuple] = None) -> tuple:
        input, states, is_batched = self._batched("LSTMCell", input, hx, 2)
        h, c = _F.lstm_cell(input, states, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    r"""One GRU step (gates r, z, n as ``GRU``).  Shapes as ``RNNCell``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        input, (h,), is_batched = self._batched("GRUCell", input, hx, 1)
        ret = _F.gru_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return ret if is_batched else ret.squeeze(0)
