"""Generate the student notebooks ``lessons/NN_topic.ipynb`` from ``solutions/NN_topic.ipynb``.

    python tools/make_lessons.py            # regenerate every lesson that is out of date
    python tools/make_lessons.py --check    # write nothing; exit 1 naming stale lessons
    python tools/make_lessons.py solutions/05_linear.ipynb    # just that one

The solutions are the source: edit a solution, run this script, commit both. What the script
does to a notebook (solution regions become stubs, outputs go) is explained, and written, in
``edunn/grading/notebooks.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edunn.grading.notebooks import sync_lessons  # noqa: E402


def _show(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("solutions", nargs="*", help="solution notebooks (default: all of solutions/)")
    parser.add_argument("--check", action="store_true", help="only report lessons that are out of date")
    parser.add_argument("--solutions-dir", default=str(ROOT / "solutions"))
    parser.add_argument("--lessons-dir", default=str(ROOT / "lessons"))
    args = parser.parse_args(argv)

    try:
        stale, orphans = sync_lessons(
            args.solutions_dir, args.lessons_dir, check=args.check, only=args.solutions or None
        )
    except ValueError as error:  # a malformed solution region, an unreadable notebook
        print(f"make_lessons: {error}", file=sys.stderr)
        return 2
    for orphan in orphans:
        print(f"{_show(orphan)}: has no solution notebook (delete it, or add the solution)", file=sys.stderr)
    if args.check:
        for lesson in stale:
            print(f"{_show(lesson)}: out of date; run python tools/make_lessons.py", file=sys.stderr)
        return 1 if stale or orphans else 0
    for lesson in stale:
        print(f"wrote {_show(lesson)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
