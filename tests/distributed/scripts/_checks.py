"""Runs every ``check_*`` function of a script launched by ``mpiexec -n 2`` and prints one
``RESULT {json}`` line per check and rank; ``tests/distributed/_harness.py`` reads them."""
import datetime
import json
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# short enough that a desynchronised check fails long before the test's own time limit
TIMEOUT = datetime.timedelta(seconds=20)


def run_checks(namespace: dict, rank: int) -> None:
    checks = [fn for name, fn in namespace.items() if name.startswith("check_") and callable(fn)]
    for fn in checks:
        try:
            fn()
            status, msg = "pass", ""
        except BaseException as e:  # noqa: BLE001  (reported, and the next check runs)
            status, msg = "fail", f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}"
        line = json.dumps({"rank": rank, "check": fn.__name__, "status": status, "msg": msg})
        out = os.environ.get("EDUNN_DIST_RESULTS")
        if out:   # one file per rank: the ranks' stdout lines may interleave
            with open(os.path.join(out, f"rank{rank}.jsonl"), "a") as f:
                f.write(line + "\n")
        else:
            print("RESULT " + line, flush=True)
