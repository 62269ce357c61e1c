"""``python -m edunn.grading NOTEBOOK...``: see ``edunn/grading/cli.py``."""

from edunn.grading.cli import main

raise SystemExit(main())
