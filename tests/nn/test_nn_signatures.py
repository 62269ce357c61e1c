"""Every name ``edunn.nn``, ``edunn.nn.functional``, ``edunn.nn.init`` and ``edunn.optim`` share
with PyTorch takes PyTorch's arguments: constructors, ``forward``, ``Module``'s methods and the
functional forms, compared with the rules of ``tests/test_signatures.py``."""
from __future__ import annotations

import inspect

import pytest

import edunn
from opcheck import needs_torch, torch
from test_signatures import mismatches, torch_signatures

pytestmark = [pytest.mark.lesson03, needs_torch]

# Deliberate differences, each with its reason.
ALLOWED: dict = {}


def _public(obj) -> list:
    return [n for n in dir(obj) if not n.startswith("_")]


def _shared() -> list:
    if torch is None:
        return []
    import torch.nn.functional as TF
    out = []
    for name in _public(edunn.nn):
        ours, theirs = getattr(edunn.nn, name), getattr(torch.nn, name, None)
        if isinstance(ours, type) and isinstance(theirs, type):
            out.append((f"nn.{name}", ours.__init__, theirs.__init__, "__init__"))
            if "forward" in ours.__dict__ and "forward" in vars(theirs):
                out.append((f"nn.{name}.forward", ours.forward, theirs.forward, "forward"))
    for name in _public(edunn.nn.Module):
        ours, theirs = getattr(edunn.nn.Module, name), getattr(torch.nn.Module, name, None)
        if callable(ours) and callable(theirs) and not isinstance(ours, type):
            out.append((f"nn.Module.{name}", ours, theirs, name))
    for name in _public(edunn.nn.functional):
        ours, theirs = getattr(edunn.nn.functional, name), getattr(TF, name, None)
        if inspect.isfunction(ours) and callable(theirs):
            out.append((f"nn.functional.{name}", ours, theirs, name))
    for name in _public(edunn.nn.init):
        ours, theirs = getattr(edunn.nn.init, name), getattr(torch.nn.init, name, None)
        if inspect.isfunction(ours) and callable(theirs):
            out.append((f"nn.init.{name}", ours, theirs, name))
    for name in _public(edunn.optim):
        ours, theirs = getattr(edunn.optim, name), getattr(torch.optim, name, None)
        if isinstance(ours, type) and isinstance(theirs, type):
            out.append((f"optim.{name}", ours.__init__, theirs.__init__, "__init__"))
    return out


SHARED = _shared()


def test_shared_names_take_torchs_arguments():
    report = []
    checked = 0
    for key, ours, theirs, name in SHARED:
        overloads = torch_signatures(key, theirs, name)
        if not overloads:
            continue
        checked += 1
        problems = "; ".join(mismatches(ours, overloads))
        if problems and ALLOWED.get(key) != problems:
            report.append(f"{key}: {problems}")
    assert checked > 50, f"only {checked} names checked"
    assert not report, f"{len(report)} of {checked} names differ from torch:\n" + "\n".join(report)
