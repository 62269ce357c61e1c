"""``edunn.utils.benchmark``: Timer statistics (sane, never timed), ``Measurement`` and
``Compare`` text against PyTorch's on the same fixed times, the fuzzers against PyTorch's draws."""
import inspect
import re

import pytest

import edunn
import edunn.utils.benchmark as B
from opcheck import needs_torch


def _tb():
    import torch.utils.benchmark as TB
    return TB


def _measurement(M, times, number=10, **labels):
    spec = M.TaskSpec(stmt=labels.pop("stmt", "x + y"), setup=labels.pop("setup", "pass"), **labels)
    return M.Measurement(number_per_run=number, raw_times=list(times), task_spec=spec)


TIMES = [
    [1.2e-4, 1.3e-4, 1.25e-4, 1.22e-4, 1.28e-4, 1.21e-4],
    [3.1e-6, 9.0e-6, 3.0e-6, 2.9e-6, 5.5e-6],          # large spread: warnings
    [0.52],
    [2.5e-3, 2.6e-3],
]


def _strip_address(text):
    return re.sub(r"<[\w.]+ object at 0x[0-9a-f]+>", "<object>", text)


@needs_torch
@pytest.mark.parametrize("times", TIMES, ids=["4-sigfig", "noisy", "single", "two"])
@pytest.mark.parametrize("labels", [dict(), dict(label="add", sub_label="float", description="n=4", num_threads=2),
                                    dict(stmt="a = 1\nb = a + 1", setup="import math\nx = 2")], ids=str)
def test_measurement_matches_torch(times, labels):
    TB = _tb()
    ours, theirs = _measurement(B, times, **dict(labels)), _measurement(TB, times, **dict(labels))
    assert _strip_address(repr(ours)).replace("edunn.utils.benchmark.common", "X") == \
        _strip_address(repr(theirs)).replace("torch.utils.benchmark.utils.common", "X")
    for name in ("median", "mean", "iqr", "significant_figures", "has_warnings", "title", "times",
                 "as_row_name", "num_threads", "env"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name)) if isinstance(
            getattr(theirs, name), float) else getattr(ours, name) == getattr(theirs, name), name
    assert ours.meets_confidence(0.05) == theirs.meets_confidence(0.05)


@needs_torch
def test_merge_matches_torch():
    TB = _tb()
    ours = B.Measurement.merge([_measurement(B, TIMES[0], 10), _measurement(B, TIMES[1], 100),
                                _measurement(B, TIMES[3], 10, label="other")])
    theirs = TB.Measurement.merge([_measurement(TB, TIMES[0], 10), _measurement(TB, TIMES[1], 100),
                                   _measurement(TB, TIMES[3], 10, label="other")])
    assert [(m.number_per_run, m.raw_times, m.label) for m in ours] == \
        [(m.number_per_run, m.raw_times, m.label) for m in theirs]


def _results(M):
    out = []
    for threads in (1, 4):
        for row, scale in (("float", 1.0), ("double", 1.7)):
            for col, base in (("n=1", 2e-6), ("n=64", 3.1e-5), ("n=4096", 1.9e-3)):
                times = [base * scale * threads ** -0.5 * (1 + 0.013 * k) for k in range(7)]
                out.append(_measurement(M, times, label="add", sub_label=row, description=col,
                                        num_threads=threads))
    out.append(_measurement(M, [5e-4, 9e-4, 5.1e-4, 5e-4, 1.4e-3], label="mul", sub_label="float",
                            description="n=1", env="A"))
    out.append(_measurement(M, [4e-4, 4.1e-4], label="mul", sub_label="float", description="n=1", env="B"))
    return out


@needs_torch
@pytest.mark.parametrize("options", [(), ("trim",), ("colorize",), ("colorize_rows",),
                                     ("highlight",), ("trim", "colorize", "highlight")], ids=str)
def test_compare_table_matches_torch(options):
    TB = _tb()
    tables = []
    for M in (B, TB):
        c = M.Compare(_results(M)[:-2])
        c.extend_results(_results(M)[-2:])
        if "trim" in options:
            c.trim_significant_figures()
        if "colorize" in options:
            c.colorize()
        if "colorize_rows" in options:
            c.colorize(rowwise=True)
        if "highlight" in options:
            c.highlight_warnings()
        tables.append(str(c))
    assert tables[0] == tables[1]
    assert "Times are in microseconds (us)." in tables[0]


def test_compare_rejects_other_objects_and_prints(capsys):
    with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
        B.Compare([1.0])
    B.Compare([_measurement(B, TIMES[0], label="x", description="d")]).print()
    assert capsys.readouterr().out.startswith("[")


@needs_torch
def test_helpers_match_torch():
    TB = _tb()
    for t in (3e-10, 4.2e-8, 7e-6, 1.5e-3, 0.3, 12.0):
        assert B.select_unit(t) == TB.select_unit(t)
    for u in ("ns", "us", "ms", "s"):
        assert B.unit_to_english(u) == TB.unit_to_english(u)
    for x, n in ((3.14159, 2), (0.000123456, 3), (98765.4, 1), (-2.71828, 4)):
        assert B.trim_sigfig(x, n) == pytest.approx(TB.trim_sigfig(x, n))
    assert B.ordered_unique([3, 1, 3, 2, 1]) == TB.ordered_unique([3, 1, 3, 2, 1]) == [3, 1, 2]
    assert [c.value for c in B.Colorize] == [c.value for c in TB.Colorize]
    assert [(lang.name, lang.value) for lang in B.Language] == [(lang.name, lang.value) for lang in TB.Language]
    spec = B.TaskSpec("a\nb", "s", label=None, sub_label="sub")
    assert spec.summarize() == TB.TaskSpec("a\nb", "s", label=None, sub_label="sub").summarize()


@needs_torch
@pytest.mark.parametrize("name", ["Timer.__init__", "Timer.timeit", "Timer.repeat", "Timer.autorange",
                                  "Timer.blocked_autorange", "Timer.adaptive_autorange",
                                  "Timer.collect_callgrind", "Measurement.__init__", "Compare.__init__",
                                  "Compare.colorize", "Fuzzer.__init__", "FuzzedParameter.__init__",
                                  "FuzzedTensor.__init__", "FuzzedSparseTensor.__init__",
                                  "ParameterAlias.__init__", "TaskSpec.__init__", "CallgrindStats.__init__",
                                  "FunctionCounts.__init__", "CopyIfCallgrind.__init__", "select_unit",
                                  "trim_sigfig", "set_torch_threads"])
def test_signatures_match_torch(name):
    TB = _tb()

    def get(root):
        obj = root
        for part in name.split("."):
            obj = getattr(obj, part)
        return [(p.name, p.kind) for p in inspect.signature(obj).parameters.values()], \
            [p.default for p in inspect.signature(obj).parameters.values()]
    (ours, our_defaults), (theirs, their_defaults) = get(B), get(TB)
    assert ours == theirs
    for a, b in zip(our_defaults, their_defaults):
        if callable(b) or type(b).__name__ in ("dtype", "Language"):
            continue
        assert a == b


def test_public_names():
    TB = pytest.importorskip("torch.utils.benchmark")
    expected = {n for n in dir(TB) if not n.startswith("_") and n[0].isupper()}
    assert expected <= set(dir(B))
    for name in ("select_unit", "unit_to_english", "trim_sigfig", "ordered_unique", "set_torch_threads"):
        assert callable(getattr(B, name))


# ------------------------------------------------------------------ Timer (statistics, not speed)
def test_timer_measurements_are_sane():
    calls = []
    t = B.Timer("y = x + 1", setup="x = torch.ones(3)", label="add", sub_label="f32", description="n=3")
    m = t.blocked_autorange(callback=lambda number, time: calls.append(number), min_run_time=0.02)
    assert isinstance(m, B.Measurement) and m.number_per_run >= 1 and len(m.raw_times) >= 1
    assert len(calls) == len(m.raw_times) and set(calls) == {m.number_per_run}
    assert all(t > 0 for t in m.times) and min(m.times) <= m.median <= max(m.times)
    assert m.iqr >= 0 and 1 <= m.significant_figures <= 4
    assert (m.label, m.sub_label, m.description, m.stmt) == ("add", "f32", "n=3", "y = x + 1")
    one = t.timeit(50)
    assert one.number_per_run == 50 and len(one.raw_times) == 1
    a = t.adaptive_autorange(threshold=10.0, min_run_time=0.001, max_run_time=0.05)
    assert len(a.raw_times) >= 1 and a.number_per_run >= 1


def test_timer_globals_dedent_and_threads():
    seen = []
    t = B.Timer("""
        seen.append(torch.get_num_threads())
    """, globals={"seen": seen}, num_threads=1)
    before = edunn.get_num_threads()
    t.timeit(3)
    assert seen and set(seen) == {1} and edunn.get_num_threads() == before
    assert t._task_spec.stmt == "seen.append(torch.get_num_threads())"


def test_timer_errors_like_torch():
    with pytest.raises(ValueError, match="only a `str` stmt"):
        B.Timer(lambda: 1)
    with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
        B.Timer("pass", global_setup="#include <x>")
    with pytest.raises(ValueError, match="Invalid language"):
        B.Timer("pass", language="rust")
    with pytest.raises(ValueError, match="no C\\+\\+ API"):
        B.Timer("pass", language="cpp")
    t = B.Timer("pass")
    for call in (t.repeat, t.autorange):
        with pytest.raises(NotImplementedError, match="See `Timer.blocked_autorange.`"):
            call()
    with pytest.raises(ValueError, match="`repeats` must be >= 1"):
        t.collect_callgrind(repeats=0)
    with pytest.raises(NameError):
        B.Timer("undefined_name + 1").collect_callgrind()
    with pytest.raises(OSError, match="Valgrind|Missing"):
        t.collect_callgrind(10)


def test_set_torch_threads_restores():
    before = edunn.get_num_threads()
    with B.set_torch_threads(1):
        assert edunn.get_num_threads() == 1
    assert edunn.get_num_threads() == before


# ------------------------------------------------------------------ callgrind containers
@needs_torch
def test_function_counts_and_callgrind_stats_match_torch():
    TB = _tb()
    reprs = []
    for M in (B, TB):
        a = M.FunctionCounts(tuple(M.FunctionCount(c, f) for c, f in
                                   [(900, "Python/ceval.c:eval"), (50, "dictobject.c:lookdict_unicode"),
                                    (7, "x.c:f")]), inclusive=False, _linewidth=60)
        b = M.FunctionCounts((M.FunctionCount(100, "x.c:f"), M.FunctionCount(3, "y.c:g")), inclusive=False)
        stats = M.CallgrindStats(task_spec=M.TaskSpec("x", "pass"), number_per_run=10,
                                 built_with_debug_symbols=False, baseline_inclusive_stats=b,
                                 baseline_exclusive_stats=b, stmt_inclusive_stats=a,
                                 stmt_exclusive_stats=a, stmt_callgrind_out=None)
        reprs.append([repr(a - b), repr(a.denoise()), repr(a * 2), a.sum(), len(a), tuple(a[0]),
                      repr(a[:2]), repr(a.transform(lambda f: f.split(":")[0])),
                      stats.counts(), stats.counts(denoise=True), repr(stats.delta(stats)),
                      repr(stats.as_standardized().stats())])
    assert [_strip_address(str(r)).replace("edunn.utils.benchmark.callgrind", "X") for r in reprs[0]] == \
        [_strip_address(str(r)).replace("torch.utils.benchmark.utils.valgrind_wrapper.timer_interface", "X")
         for r in reprs[1]]
    with pytest.raises(AssertionError, match="inclusive and exclusive"):
        B.FunctionCounts((), inclusive=True) + B.FunctionCounts((), inclusive=False)


def test_copy_if_callgrind():
    c = B.CopyIfCallgrind(3, setup="import math")
    assert (c.value, c.setup, c.serialization.name) == (3, "import math", "PICKLE")
    assert B.CopyIfCallgrind(edunn.nn.Linear(2, 2)).serialization.name == "TORCH"
    assert B.CopyIfCallgrind.unwrap_all({"a": c, "b": 1}) == {"a": 3, "b": 1}
    with pytest.raises(ValueError, match="Unsupported type"):
        B.CopyIfCallgrind(object())


# ------------------------------------------------------------------ fuzzers
def _fuzz(M, seed):
    f = M.Fuzzer(parameters=[M.FuzzedParameter("k", 1, 16, "loguniform"),
                             M.FuzzedParameter("n", 1, 6, "uniform"),
                             M.FuzzedParameter("d", 1, 3, "uniform"),
                             [M.FuzzedParameter("m", 0.0, 1.0, "uniform"), M.FuzzedParameter("k2", 1, 4, "uniform")]],
                 tensors=[M.FuzzedTensor("x", size=("k", "n", 4), probability_contiguous=0.5, dim_parameter="d",
                                         min_elements=4, max_elements=2 ** 12),
                          M.FuzzedTensor("y", size=("k2", 3), steps=(1, 2))],
                 constraints=[lambda p: p["n"] != 5], seed=seed)
    return [(p, tuple(t["x"].shape), tuple(t["y"].shape), pr["x"]["is_contiguous"], list(pr["x"]["order"]),
             t["x"].dtype.is_floating_point) for t, pr, p in f.take(6)]


@needs_torch
@pytest.mark.parametrize("seed", [0, 7])
def test_fuzzer_draws_match_torch(seed):
    assert _fuzz(B, seed) == _fuzz(_tb(), seed)


def test_fuzzer_tensors_are_edunn_and_respect_limits():
    for tensors, props, params in _fuzz_objects():
        x = tensors["x"]
        assert isinstance(x, edunn.Tensor) and 4 <= x.numel() <= 2 ** 12
        assert props["x"]["is_contiguous"] == x.is_contiguous()


def _fuzz_objects():
    f = B.Fuzzer(parameters=[B.FuzzedParameter("k", 2, 64, "loguniform")],
                 tensors=[B.FuzzedTensor("x", size=("k", "k"), min_elements=4, max_elements=2 ** 12,
                                         probability_contiguous=0.3, dtype=edunn.float64)], seed=3)
    return list(f.take(4))


def test_fuzzed_parameter_errors_and_custom_distribution():
    with pytest.raises(AssertionError, match="Unknown distribution"):
        B.FuzzedParameter("a", 1, 2, "gaussian")
    with pytest.raises(AssertionError, match="not normalized"):
        B.FuzzedParameter("a", distribution={1: 0.3, 2: 0.3})
    p = B.FuzzedParameter("a", distribution={1: 0.5, 2: 0.5})   # PyTorch 2.13 wrongly rejects this
    alias = B.FuzzedParameter("b", distribution={B.ParameterAlias("c"): 0.5, 9: 0.5})
    f = B.Fuzzer(parameters=[p, alias, B.FuzzedParameter("c", 20, 30, "uniform")], tensors=[], seed=0)
    draws = [params for _, _, params in f.take(20)]
    assert {d["a"] for d in draws} == {1, 2}
    assert all(d["b"] in (9, d["c"]) for d in draws) and any(d["b"] != 9 for d in draws)


def test_fuzzed_sparse_tensor():
    # as in PyTorch, the parameters are read under the names density, coalesced and sparse_dim
    s = B.FuzzedSparseTensor("s", size=(8, "n"), nnz="nnz", density="density", coalesced="coalesced",
                             sparse_dim="sparse_dim", min_elements=4)
    f = B.Fuzzer(parameters=[B.FuzzedParameter("n", 4, 8, "uniform"),
                             B.FuzzedParameter("density", 0.1, 0.5, "uniform"),
                             B.FuzzedParameter("coalesced", distribution={True: 0.5, False: 0.5}),
                             B.FuzzedParameter("sparse_dim", 1, 2, "uniform")], tensors=[s], seed=1)
    for tensors, props, params in f.take(3):
        t = tensors["s"]
        assert t.is_sparse and tuple(t.shape) == (8, params["n"])
        assert props["s"]["sparse_dim"] == params["sparse_dim"]
        assert props["s"]["is_coalesced"] == t.is_coalesced()
