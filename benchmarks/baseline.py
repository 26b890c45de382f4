"""The code before the structural step, measured beside the shipped code in one run.

The cpu rows and the export rows judge the harvester's CPU, which the restructuring
of the package was to bring back toward the floor. A figure from an older run is
measured on another day of a noisy machine; so ``make bench`` extracts commit
:data:`BASELINE` (``git archive``) once into its output folder and runs that
commit's own ``benchmarks.harvester``, with its own ``pageviews``, against the same
fakes, right after the shipped code.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

#: The last commit before the structural step (one Canvas core, the CLI package,
#: the store by table family).
BASELINE = "50f980f"
#: How its runs are labelled in the tables.
LABEL = f"pageviews@{BASELINE}"


def tree(out: Path) -> Path | None:
    """The baseline's source tree under ``out``, extracted once; None without git history."""
    where = out / f"baseline-{BASELINE}"
    if (where / "pageviews" / "__init__.py").is_file():
        return where
    repo = Path(__file__).resolve().parent.parent
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", BASELINE],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None  # a copy without the history: the old rows are left out
    where.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where, filter="data")
    return where
