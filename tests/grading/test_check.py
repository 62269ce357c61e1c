"""``check`` and the ``Checker``, on toy exercises (see conftest.py), without the library."""

import json
import signal
import threading
import time

import pytest

from edunn.grading import Fail, check, get_exercise, run_exercise
from edunn.grading.check import default_timeout
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, score, stub



def reference(exercise_id):
    return get_exercise(exercise_id).reference


def add(a, b):
    return a + b


def add_stub(a, b):
    # YOUR CODE HERE
    raise NotImplementedError("your turn: replace this line with your code")


def subtract(a, b):
    return a - b


def add_divides_by_zero(a, b):
    total = a + b
    return total / 0


def add_forever(a, b):
    while True:
        pass


def add_noisily(a, b):
    for i in range(10_000):
        print("debugging line", i)
    return a + b


# ---------------------------------------------------------------------- the six cases


def test_correct_implementation_gets_full_marks_and_is_returned(toy, capsys):
    assert check(toy, add) is add
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "99.add — add two numbers: 3/3 points"
    assert "reference" not in out


def test_stub_gets_zero_and_the_reference_is_returned(toy, capsys):
    assert check(toy, add_stub) is reference(toy)
    out = capsys.readouterr().out
    assert "not done yet, 0/3 points" in out
    assert "Using edunn's reference" in out and "reference_add" in out
    assert "Traceback" not in out


def test_wrong_implementation_gets_less_with_a_specific_message(toy, capsys):
    assert check(toy, subtract) is reference(toy)
    out = capsys.readouterr().out
    assert "0/3 points" in out
    # "add(-4, 2): got -6, expected -2": the call, what it gave and what was expected.
    line = next(line for line in out.splitlines() if line.startswith("  - add("))
    a, b = (int(x) for x in line.split("(")[1].split(")")[0].split(", "))
    assert f"got {a - b}, expected {a + b}" in line


def test_partially_wrong_implementation_gets_partial_credit(toy):
    calls = []

    def add_right_once(a, b):
        calls.append(1)
        return a + b if len(calls) == 1 else a * b

    feedback = run_exercise(toy, add_right_once)
    assert (feedback.checks_passed, feedback.checks_total) == (1, 3)
    assert feedback.points == 1 and feedback.status == "partial"
    assert len(feedback.messages) == 2
    calls.clear()

    def add_right_twice(a, b):
        calls.append(1)
        return a + b if len(calls) <= 2 else a * b

    assert run_exercise(toy, add_right_twice).points == 2


def test_exception_is_explained_with_the_learners_line_only(toy, capsys):
    assert check(toy, add_divides_by_zero) is reference(toy)
    out = capsys.readouterr().out
    assert "ZeroDivisionError: division by zero" in out
    assert "return total / 0" in out and "add_divides_by_zero" in out
    assert "0/3 points" in out
    # No grader internals: no traceback, no grader source, no file of edunn.grading.
    assert "Traceback" not in out
    assert "t.close(" not in out and "student(a, b)" not in out
    assert "checker.py" not in out and "check.py" not in out and "conftest.py" not in out and "grade_add" not in out


def test_infinite_loop_is_stopped_by_the_time_limit(toy, capsys):
    started = time.monotonic()
    assert check(toy, add_forever, timeout=1) is reference(toy)
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "took longer than 1 s" in out
    assert "timed out, 0/3 points" in out


def test_printing_ten_thousand_lines_does_not_flood(toy, capsys):
    assert check(toy, add_noisily) is add_noisily
    out = capsys.readouterr().out
    assert len(out.splitlines()) < 10
    assert "printed 30000 lines" in out  # 10,000 per call, three calls
    assert "| debugging line 0" in out
    assert "3/3 points" in out


# ---------------------------------------------------------------------- time limits


def test_swallowing_the_timeout_still_times_out(toy):
    def add_stubbornly(a, b):
        try:
            while True:
                time.sleep(0.01)
        except BaseException:
            return a + b

    feedback = run_exercise(toy, add_stubbornly, timeout=0.5)
    assert feedback.status == "timed out" and feedback.points == 0


def test_time_limit_outside_the_main_thread(toy):
    results = []
    worker = threading.Thread(target=lambda: results.append(run_exercise(toy, add_forever, timeout=0.5)))
    started = time.monotonic()
    worker.start()
    worker.join(10)
    assert time.monotonic() - started < 5
    assert results and results[0].status == "timed out"
    # the learner's endless loop was stopped, not left spinning for the rest of the process
    assert not [t for t in threading.enumerate() if t.name == "edunn-grading"]


def test_previous_alarm_is_restored(toy):
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *args: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        run_exercise(toy, add)
        assert signal.getsignal(signal.SIGALRM) is not None
        delay, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < delay <= 0.5
        time.sleep(0.7)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_timeout_from_the_environment(monkeypatch):
    monkeypatch.setenv("EDUNN_GRADING_TIMEOUT", "2.5")
    assert default_timeout() == 2.5
    monkeypatch.setenv("EDUNN_GRADING_TIMEOUT", "soon")
    assert default_timeout() == 10


# ---------------------------------------------------------------------- recording


def test_result_is_appended_to_the_results_file(toy, tmp_path, monkeypatch, capsys):
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv("EDUNN_GRADING_RESULTS", str(results))
    check(toy, add)
    check(toy, subtract)
    first, second = (json.loads(line) for line in results.read_text().splitlines())
    assert first["exercise"] == "99.add" and first["points"] == 3 and first["max_points"] == 3
    assert first["feedback"] == [] and first["status"] == "full marks"
    assert second["points"] == 0 and second["feedback"] and second["status"] == "no marks"


def test_no_results_file_by_default(toy, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EDUNN_GRADING_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    check(toy, add)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- the Checker


def test_groups_are_all_or_nothing_and_exceptions_fail_only_their_group(register):
    def grader(student, t):
        with t.group("forward"):
            t.equal(student.forward(2), 4, "forward(2)")
            t.equal(student.forward(3), 6, "forward(3)")
        with t.group("backward"):
            t.equal(student.backward(1), 2, "backward(1)")
        with t.group("name"):
            t.equal(student.name, "double", "name")

    register("99.double", grader, points=3)

    class Wrong:
        name = "double"

        def forward(self, x):
            return 4 if x == 2 else 0  # right once, wrong once: the group fails

        def backward(self, g):
            return [][0]  # IndexError: fails "backward" only

    feedback = run_exercise("99.double", Wrong())
    assert (feedback.checks_passed, feedback.checks_total) == (1, 3)
    assert feedback.points == 1
    assert feedback.messages[0] == "forward: forward(3): got 0, expected 6"
    assert feedback.messages[1].startswith("backward: your code raised IndexError: list index out of range")
    assert "in backward" in feedback.messages[1] and "return [][0]" in feedback.messages[1]


def test_not_implemented_anywhere_means_zero(register):
    def grader(student, t):
        with t.group("first"):
            t.ok(True, "never shown")
        with t.group("second"):
            student()

    register("99.half", grader, points=2)
    feedback = run_exercise("99.half", stub)
    assert feedback.points == 0 and feedback.status == "not done yet"


def test_fail_stops_the_group(register):
    def grader(student, t):
        with t.group("shape"):
            if student() != 3:
                raise Fail("the output should have 3 rows")
            t.fail("not reached")
        t.ok(True, "")

    register("99.fail", grader, points=2)
    feedback = run_exercise("99.fail", lambda: 2)
    assert feedback.messages == ["shape: the output should have 3 rows"]
    assert feedback.points == 1


def test_mistakes_and_hints_explain_the_error(register):
    def grader(student, t):
        moved = student()
        t.close(moved, 0.001, "step 1 moved the parameter by",
                mistakes={"your Adam update is missing bias correction": 0.0316})
        t.close(moved, 0.001, "step 1", hint="look at m_hat")

    register("99.adam", grader, points=1)
    feedback = run_exercise("99.adam", lambda: 0.0316)
    assert feedback.messages == [
        "your Adam update is missing bias correction: step 1 moved the parameter by: got 0.0316, expected 0.001",
        "step 1: got 0.0316, expected 0.001 (hint: look at m_hat)",
    ]


def test_raises_check(register):
    def grader(student, t):
        t.raises(ValueError, student, -1, what="sqrt(-1)")

    register("99.sqrt", grader, points=1)

    def silent(x):
        return 0

    def wrong_error(x):
        raise TypeError("bad")

    def right(x):
        raise ValueError("negative")

    assert run_exercise("99.sqrt", right).full_marks
    assert run_exercise("99.sqrt", silent).messages == ["sqrt(-1) should raise ValueError, but it returned normally"]
    assert run_exercise("99.sqrt", wrong_error).messages == ["sqrt(-1) should raise ValueError, but it raised TypeError: bad"]
    assert run_exercise("99.sqrt", stub).status == "not done yet"


def test_close_on_nested_lists_and_none(register):
    def grader(student, t):
        t.close(student(), [[1.0, 2.0], [3.0, 4.0]], "the matrix")

    register("99.matrix", grader, points=1)
    assert run_exercise("99.matrix", lambda: [[1, 2], [3, 4.000001]]).full_marks
    assert run_exercise("99.matrix", lambda: [[1, 3], [2, 4]]).messages == [
        "the matrix: 2 of 4 values are wrong; at index [0, 1] got 3, expected 2, largest difference 1"
    ]
    assert "expected shape (2, 2), got shape (4,)" in run_exercise("99.matrix", lambda: [1, 2, 3, 4]).messages[0]
    assert "did you forget to return" in run_exercise("99.matrix", lambda: None).messages[0]


def test_an_error_while_checking_the_result_does_not_blame_a_line(register):
    def grader(student, t):
        t.ok(student().startswith("a"), "should start with a")

    register("99.text", grader, points=1)
    feedback = run_exercise("99.text", lambda: None)
    assert feedback.messages == [
        "checking your code's result raised AttributeError: 'NoneType' object has no attribute 'startswith'"
    ]


def test_reference_given_as_a_dotted_path(register, capsys):
    register("99.sqrt_ref", lambda student, t: t.close(student(4.0), 2.0, "sqrt(4)"), points=1,
             reference="math.sqrt")
    import math

    assert get_exercise("99.sqrt_ref").resolve_reference() is math.sqrt
    assert check("99.sqrt_ref", lambda x: x / 2 + 0.5) is math.sqrt
    assert "Using edunn's reference math.sqrt" in capsys.readouterr().out


def test_rng_is_seeded_per_exercise(toy):
    seen = []

    def spy(a, b):
        seen.append((a, b))
        return a + b

    run_exercise(toy, spy)
    run_exercise(toy, spy)
    assert seen[:3] == seen[3:]


def test_random_tensors_are_edunn_tensors(register):
    edunn = pytest.importorskip("edunn")
    if not hasattr(edunn, "tensor"):
        pytest.skip("edunn.tensor is not written yet")

    def grader(student, t):
        x = t.randn(2, 3)
        t.equal(tuple(x.shape), (2, 3), "shape")
        t.close(student(x), x, "identity")

    register("99.identity", grader, points=1)
    assert_full_marks("99.identity", lambda x: x)


# ---------------------------------------------------------------------- registry and harness


def test_unknown_exercise_suggests_close_ids(toy):
    with pytest.raises(LookupError, match="did you mean '99.add'"):
        get_exercise("99.ad")
    with pytest.raises(ValueError, match="should look like 'NN.name'"):
        get_exercise("add")


def test_declaring_an_id_twice_is_an_error(toy, register):
    with pytest.raises(ValueError, match="declared twice"):
        register("99.add", lambda student, t: None, points=1)


def test_testing_harness(toy):
    assert_full_marks(toy, add)
    assert_zero(toy)
    assert_zero(toy, add_stub)
    assert_partial(toy, subtract, mentions="expected")
    points, max_points, text = score(toy, subtract)
    assert (points, max_points) == (0, 3) and "add(" in text
    with pytest.raises(AssertionError, match="expected full marks"):
        assert_full_marks(toy, subtract)
    with pytest.raises(AssertionError, match="got full marks"):
        assert_partial(toy, add)
