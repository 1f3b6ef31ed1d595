#!/usr/bin/env bash
# resnet_fa's whole test suite: notebooks and library in sync, the notebooks' own tests, then pytest.
# Usage: ./tools/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_ALBUMENTATIONS_UPDATE=1 MPLBACKEND=Agg PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
start=$(date +%s); last=$start
stage() { local now; now=$(date +%s); echo "::stage '$1' took $((now-last)) s"; last=$now; }
snapshot() { { git diff; git status --porcelain --untracked-files=all; } | sha1sum; }

before=$(snapshot)
nbdev-export
nbdev-clean
python tools/make_readme.py
if [ "$before" != "$(snapshot)" ]; then
  echo "FAIL: nbdev-export, nbdev-clean or tools/make_readme.py changed files: the library, README or notebooks" >&2
  echo "      were not in sync with the notebooks. Run ./tools/test.sh locally and commit what it changes:" >&2
  git status --short >&2
  exit 1
fi
stage "notebooks and library in sync"

# ruff (settings in pyproject.toml): unused imports, undefined names and lines over 120 characters in the library and
# the notebooks (ruff reads .ipynb cell by cell).
# nbdev writes each module's `__all__` wrapped at 120 characters and then puts `__all__ = ` before it, so the first
# line of that list may reach 130: that line, which no one edits, is the one exception.
ruff check --exit-zero --output-format json resnet_fa nbs | python -c '
import json, sys
from pathlib import Path
bad = [e for e in json.load(sys.stdin) if not (e["code"] == "E501" and e["filename"].endswith(".py") and
       Path(e["filename"]).read_text().splitlines()[e["location"]["row"]-1].startswith("__all__ = ["))]
for e in bad: print("%s:%s%d: %s %s" % (e["filename"], "cell %s:" % e["cell"] if e.get("cell") else "", e["location"]["row"],
                                     e["code"], e["message"]), file=sys.stderr)
print("ruff: %d problem(s) in resnet_fa/ and nbs/" % len(bad), file=sys.stderr)
sys.exit(1 if bad else 0)'
stage "ruff"

# One OpenMP thread per process, two processes at a time. With torch's default of one thread per core, two
# notebooks or test files side by side oversubscribe 2 cores many times over (nbdev-test's parallel default was
# ~10x slower); with one thread each they run side by side for less time than one after the other (Zen 3, 2 cores:
# notebooks 274 s -> 176 s, pytest 641 s -> 521 s). A test that needs more threads sets them itself.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# The tutorials (nbs/tutorials) train for a minute or more each to show real results: the docs build executes them
# (and their checks) right after this in CI, so they are not run twice here. `python tools/build_docs.py --only
# nbs/tutorials/*.ipynb` runs them alone.
nbdev-test --n-workers 2 --timing --skip-folder-re '^([_.]|tutorials$)'
stage "notebook tests (nbdev-test)"

# Two workers, one test file each at a time (--dist loadfile keeps a file's module fixtures, such as a trained run, in
# one process): the files' CLI runs spend much of their time starting Python single-threaded.
python -m pytest -q -n 2 --dist loadfile --durations 15 "$@"
stage "pytest"
