r"""Adaptive softmax (Grave et al. 2017, "Efficient softmax approximation for GPUs"), lesson 13.

With n_classes in the tens of thousands, a full softmax costs ``in_features x n_classes`` per
example.  Word frequencies follow Zipf's law, so the classes are sorted by frequency and split by
``cutoffs`` into a *shortlist* of frequent classes and clusters of rarer ones.  The *head* scores
the shortlist plus one entry per cluster; cluster i has its own small two-layer *tail* whose
hidden size shrinks by ``div_value`` each time (rare classes get fewer parameters):

    log p(c | x) = log softmax(head(x))_c                                    c in the shortlist
    log p(c | x) = log softmax(head(x))_{shortlist + i} + log softmax(tail_i(x))_{c - cutoff_i}
                                                                            c in cluster i

Training needs only the target's cluster for each example, so most examples never touch the big
clusters.
"""
from __future__ import annotations

import itertools
from collections import namedtuple
from typing import Sequence

import edunn
from ... import backend
from ...tensor import Tensor
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    r"""Efficient softmax approximation for large output spaces (PyTorch's
    ``nn.AdaptiveLogSoftmaxWithLoss``).

    Args: ``in_features``; ``n_classes``; ``cutoffs``, increasing integers in [1, n_classes - 1]
    splitting the classes (sorted most frequent first) into the shortlist ``[0, cutoffs[0])`` and
    clusters ``[cutoffs[i], cutoffs[i+1])``; ``div_value`` (4.0): cluster i's hidden size is
    ``in_features // div_value ** (i + 1)``; ``head_bias`` (False): a bias in the head.

    Submodules, named as in PyTorch so that its state_dict loads: ``head`` =
    ``Linear(in_features, cutoffs[0] + n_clusters, bias=head_bias)`` and ``tail`` = ``ModuleList``
    of ``Sequential(Linear(in_features, hsz, bias=False), Linear(hsz, osz, bias=False))``.

    ``forward(input, target)`` with input (N, in_features) and target (N), or (in_features) and
    (), returns ``_ASMoutput(output, loss)``: ``output`` the log-probability of each target,
    ``loss`` the mean negative log-likelihood.  ``log_prob(input)`` gives all (N, n_classes)
    log-probabilities and ``predict(input)`` the most probable class of each row.  Lesson 13.
    """

    in_features: int
    n_classes: int
    cutoffs: list
    div_value: float
    head_bias: bool
    head: Linear
    tail: ModuleList

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device=None, dtype=None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > (n_classes - 1)
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in "
                             "an increasing order, where each value is between 1 and "
                             f"n_classes-1 (n_classes={n_classes}), got {cutoffs}")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias

        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters

        self.head = Linear(self.in_features, self.head_size, bias=self.head_bias, **factory_kwargs)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(self.in_features // (self.div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(
                Linear(self.in_features, hsz, bias=False, **factory_kwargs),
                Linear(hsz, osz, bias=False, **factory_kwargs),
            ))

    def reset_parameters(self) -> None:
        """Re-initialise every Linear as ``__init__`` did."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        targ_dim = target_.dim()
        if targ_dim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError("Input and target should have the same size in the batch "
                                   f"dimension: got input of shape {tuple(input_.shape)} and target "
                                   f"of shape {tuple(target_.shape)}.")
            if input_.dim() != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs "
                                   f"with size {input_.size()}")
        elif targ_dim == 0:
            if input_.dim() != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs "
                                   f"with size {input_.size()}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported "
                               f"(got target of shape {tuple(target_.shape)})")
        if target_.is_floating_point() or target_.is_complex() or target_.dtype == edunn.bool:
            raise RuntimeError("AdaptiveLogSoftmaxWithLoss: expected target of class indices with "
                               f"an integer dtype, got {target_.dtype}")
        if input_.size(-1) != self.in_features:
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: expected input with {self.in_features}"
                               f" features, got input of shape {tuple(input_.shape)}")

        is_batched = targ_dim > 0
        input = input_ if is_batched else input_.unsqueeze(0)
        target = target_ if is_batched else target_.unsqueeze(0)

        used_rows = 0
        batch_size = target.size(0)
        output = input.new_zeros(batch_size)                 # log p(target | cluster), 0 in the shortlist
        gather_inds = target.new_empty(batch_size)           # which head entry each row needs

        cutoff_values = [0] + self.cutoffs
        for i in range(len(cutoff_values) - 1):
            low_idx, high_idx = cutoff_values[i], cutoff_values[i + 1]
            target_mask = (target >= low_idx) & (target < high_idx)
            row_indices = target_mask.nonzero().squeeze(1)
            if row_indices.numel() == 0:
                continue
            if i == 0:                                       # shortlist: the head scores the class
                gather_inds.index_copy_(0, row_indices, target[target_mask])
            else:                                            # cluster i: only its rows run the tail
                relative_target = target[target_mask] - low_idx
                input_subset = input.index_select(0, row_indices)
                cluster_output = self.tail[i - 1](input_subset)
                cluster_index = self.shortlist_size + i - 1
                gather_inds.index_fill_(0, row_indices, cluster_index)
                cluster_logprob = F.log_softmax(cluster_output, dim=1)
                local_logprob = cluster_logprob.gather(1, relative_target.unsqueeze(1))
                output.index_copy_(0, row_indices, local_logprob.squeeze(1))
            used_rows += row_indices.numel()

        if used_rows != batch_size:
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values "
                               f"in range [{target.min().item()}, {target.max().item()}] were found. ")

        head_output = self.head(input)
        head_logprob = F.log_softmax(head_output, dim=1)
        output = output + head_logprob.gather(1, gather_inds.unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        if not is_batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """All n_classes log-probabilities from the input and the head's output."""
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i, (start_idx, stop_idx) in enumerate(itertools.pairwise(self.cutoffs)):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return edunn.cat(parts, dim=1)

    def _check_2d(self, input: Tensor, fn: str) -> None:
        if input.dim() != 2 or input.size(1) != self.in_features:
            # PyTorch fails in log_softmax(dim=1) (IndexError) on a 1-D input, in a matmul
            # (RuntimeError) otherwise
            raise (IndexError if input.dim() < 2 else RuntimeError)(f"AdaptiveLogSoftmaxWithLoss.{fn}: expected input of shape "
                               f"(N, {self.in_features}), got {tuple(input.shape)}")

    def log_prob(self, input: Tensor) -> Tensor:
        r"""log p(c | x) for every class: (N, in_features) -> (N, n_classes)."""
        self._check_2d(input, "log_prob")
        return self._get_full_log_prob(input, self.head(input))

    @backend.on_input_device
    def predict(self, input: Tensor) -> Tensor:
        r"""The most probable class of each row, (N, in_features) -> (N), the same as
        ``log_prob(input).argmax(dim=1)``: rows whose best head entry is in the shortlist need no
        tail at all (a shortlist class beating every cluster's total beats each of its members)."""
        self._check_2d(input, "predict")
        head_output = self.head(input)
        output = edunn.argmax(head_output, dim=1)
        not_in_shortlist = output >= self.shortlist_size
        if not bool(not_in_shortlist.any()):
            return output
        if bool(not_in_shortlist.all()):
            return edunn.argmax(self._get_full_log_prob(input, head_output), dim=1)
        log_prob = self._get_full_log_prob(input[not_in_shortlist], head_output[not_in_shortlist])
        output[not_in_shortlist] = edunn.argmax(log_prob, dim=1)
        return output
