"""edunn.futures against torch.futures: every scenario runs on both and must behave the same
(values, done() at each step, callback order, which errors reach which future)."""
import inspect
import threading
import warnings

import pytest

import edunn
import edunn.futures as ef
from opcheck import needs_torch, torch

pytestmark = needs_torch


def _lib(name):
    return ef if name == "edunn" else torch.futures


def _outcome(fn):
    """``("ok", value)`` or ``("error", type, message-start)``, comparable across libraries."""
    try:
        return ("ok", fn())
    except Exception as e:
        return ("error", type(e).__name__, str(e).split("\n")[0][:60])


def test_names_and_signatures_match_torch():
    assert set(ef.__all__) == set(torch.futures.__all__)
    assert edunn.futures is ef
    for name in ("collect_all", "wait_all"):
        assert list(inspect.signature(getattr(ef, name)).parameters) == \
            list(inspect.signature(getattr(torch.futures, name)).parameters)
    for name in ("wait", "value", "then", "done", "set_result", "set_exception", "add_done_callback"):
        ours = inspect.signature(getattr(ef.Future, name))
        theirs = inspect.signature(getattr(torch.futures.Future, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    ours = inspect.signature(ef.Future.__init__).parameters["devices"]
    theirs = inspect.signature(torch.futures.Future.__init__).parameters["devices"]
    assert ours.kind == theirs.kind == inspect.Parameter.KEYWORD_ONLY and ours.default is theirs.default


def scenario_result_then_chain(lib):
    log = []
    f = lib.Future()
    g = f.then(lambda x: x.value() * 2)
    h = g.then(lambda x: x.value() + 1)
    f.add_done_callback(lambda x: log.append(("cb", x.value())))
    log.append(("done before", f.done(), g.done(), h.done()))
    f.set_result(5)
    log.append(("done after", f.done(), g.done(), h.done()))
    log.append(("values", f.wait(), g.wait(), h.wait(), h.value()))
    late = f.then(lambda x: x.value() - 1)       # chained after completion: runs at once
    log.append(("late", late.done(), late.wait()))
    f.add_done_callback(lambda x: log.append(("late cb", x.value())))
    return log


def scenario_exception_propagates(lib):
    f = lib.Future()
    g = f.then(lambda x: x.value() + 1)
    f.set_exception(ValueError("broken"))
    return [g.done(), _outcome(f.wait), _outcome(f.value), _outcome(g.wait)[:2],
            "broken" in _outcome(g.wait)[2]]


def scenario_callback_raises(lib):
    f = lib.Future()
    g = f.then(lambda x: 1 / 0)
    f.set_result(1)
    out = _outcome(g.wait)
    return [out[0], out[1], "ZeroDivisionError" in out[2], f.wait()]


def scenario_completed_twice(lib):
    f = lib.Future()
    f.set_result(1)
    first = _outcome(lambda: f.set_result(2))
    value = f.wait()
    second = _outcome(lambda: f.set_exception(ValueError("x")))
    return [first, second, value]


def scenario_collect_all_and_wait_all(lib):
    a, b = lib.Future(), lib.Future()
    c = lib.collect_all([a, b])
    states = [c.done()]
    a.set_result("a")
    states.append(c.done())
    b.set_result("b")
    states.append(c.done())
    futs = c.wait()
    states.append([f.wait() for f in futs])
    states.append(lib.wait_all([a, b]))
    empty = lib.collect_all([])
    states.append((empty.done(), empty.wait()))
    bad = lib.Future()
    bad.set_exception(KeyError("k"))
    states.append(_outcome(lambda: lib.wait_all([a, bad]))[:2])
    states.append(lib.collect_all([a, bad]).done())
    return states


@pytest.mark.parametrize("scenario", [scenario_result_then_chain, scenario_exception_propagates,
                                      scenario_callback_raises, scenario_completed_twice,
                                      scenario_collect_all_and_wait_all])
def test_behaves_as_torch(scenario):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert scenario(ef) == scenario(_lib("torch"))


def test_done_callback_error_is_reported_not_raised():
    f = ef.Future()
    f.add_done_callback(lambda x: 1 / 0)
    with pytest.warns(RuntimeWarning, match="ZeroDivisionError"):
        f.set_result(1)
    assert f.wait() == 1


def test_set_exception_needs_an_exception():
    with pytest.raises(AssertionError, match="not an Exception"):
        ef.Future().set_exception(3)
    with pytest.raises(AssertionError):
        torch.futures.Future().set_exception(3)


def test_bad_arguments():
    f = ef.Future()
    with pytest.raises(TypeError, match="callable"):
        f.then(3)
    with pytest.raises(TypeError, match="callable"):
        f.add_done_callback(None)
    with pytest.raises(TypeError, match="Future"):
        ef.collect_all([f, 3])
    with pytest.raises(RuntimeError, match="not completed"):
        f.value()


def test_wait_blocks_until_another_thread_sets_the_result():
    f = ef.Future()
    threading.Timer(0.05, lambda: f.set_result("late")).start()
    assert f.wait() == "late" and f.done()


def test_driven_future_completes_when_polled_or_waited():
    """The producer interface ``Work.get_future`` uses: ``done()`` polls, ``wait()`` drives."""
    ready = [False]
    f = ef.Future()._drive_with(lambda: ready[0], lambda: f.set_result(42))
    g = f.then(lambda x: x.value() + 1)
    assert not f.done() and not g.done()
    ready[0] = True
    assert g.done() and f.done() and g.wait() == 43
    h = ef.Future()._drive_with(lambda: False, lambda: h.set_exception(TimeoutError("late")))
    with pytest.raises(TimeoutError, match="late"):
        h.wait()
