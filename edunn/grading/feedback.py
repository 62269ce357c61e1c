"""``Feedback``: the result of grading one exercise, as printed in the notebook and recorded.

``check`` prints ``feedback.render()`` under the learner's cell and appends
``feedback.to_json()`` as one line to the file named by ``EDUNN_GRADING_RESULTS`` (the grading
command sets it), from which the teacher's table is built.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field

# How much of the learner's printing to show, and how many failure messages.
SHOW_PRINTED_LINES = 3
SHOW_FAILURES = 5

# ``status`` values.
FULL_MARKS = "full marks"
PARTIAL = "partial"
NO_MARKS = "no marks"
NOT_DONE = "not done yet"
TIMED_OUT = "timed out"
NOT_RUN = "not run"


def format_points(points: float) -> str:
    """``3`` for 3.0, ``2.5`` for 2.5, ``1.67`` for 1.6666."""
    points = round(float(points), 2)
    return str(int(points)) if points == int(points) else f"{points:g}"


@dataclass
class Feedback:
    """What grading one exercise found.

    ``messages`` are the failure messages (the first of each failed unit), ``printed`` the
    first lines the learner's code printed while being graded and ``printed_lines`` how many
    it printed in all.
    """

    exercise_id: str
    title: str
    points: float
    max_points: float
    status: str
    messages: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_total: int = 0
    printed: list[str] = field(default_factory=list)
    printed_lines: int = 0
    seconds: float = 0.0

    @property
    def full_marks(self) -> bool:
        return self.points >= self.max_points

    @property
    def label(self) -> str:
        return f"{self.exercise_id} — {self.title}" if self.title else self.exercise_id

    @property
    def score_line(self) -> str:
        """``"02.sum_to — reduce a broadcast gradient: 2/3 points"``."""
        status = f"{self.status}, " if self.status in (NOT_DONE, TIMED_OUT) else ""
        return f"{self.label}: {status}{format_points(self.points)}/{format_points(self.max_points)} points"

    def render(self) -> str:
        """The text printed under the learner's cell: failures, printed output, the score."""
        lines = []
        # "not done yet" is already in the score line.
        shown = [] if self.status == NOT_DONE else _unique(self.messages)
        for message in shown[:SHOW_FAILURES]:
            first, *rest = message.splitlines() or [""]
            lines.append(f"  - {first}")
            lines.extend(f"    {line}" for line in rest)
        if len(shown) > SHOW_FAILURES:
            lines.append(f"  ... and {len(shown) - SHOW_FAILURES} more failed checks")
        if self.printed_lines:
            plural = "line" if self.printed_lines == 1 else "lines"
            head = f"  your code printed {self.printed_lines} {plural}"
            if self.printed_lines > len(self.printed):
                head += f"; the first {len(self.printed)}"
            lines.append(head + ":")
            lines.extend(f"    | {line}" for line in self.printed)
        lines.append(self.score_line)
        return "\n".join(lines)

    def to_json(self) -> dict:
        """One record of the results file (the keys the grading command reads)."""
        record = asdict(self)
        record["exercise"] = record.pop("exercise_id")
        record["feedback"] = record.pop("messages")
        return record


def _unique(messages: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for message in messages:
        if message not in seen:
            seen.add(message)
            out.append(message)
    return out


RESULTS_ENV = "EDUNN_GRADING_RESULTS"


def record(feedback: Feedback) -> None:
    """Append ``feedback`` as a JSON line to ``$EDUNN_GRADING_RESULTS``, if it is set.

    A results file that cannot be written is reported on stderr, never raised: the learner's
    notebook must keep running.
    """
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(feedback.to_json(), sort_keys=True) + "\n")
    except OSError as error:
        print(f"edunn.grading: could not record the result in {path}: {error}", file=sys.stderr)


def read_records(path: str | os.PathLike) -> list[dict]:
    """The records in a results file, skipping lines that are not valid records."""
    records = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict) and isinstance(item.get("exercise"), str):
                    records.append(item)
    except OSError:
        pass
    return records
