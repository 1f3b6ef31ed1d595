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

# One OpenMP thread per process, two processes at a time. With torch's default of one thread per core, two
# notebooks or test files side by side oversubscribe 2 cores many times over (nbdev-test's parallel default was
# ~10x slower); with one thread each they run side by side for less time than one after the other (Zen 3, 2 cores:
# notebooks 274 s -> 176 s, pytest 641 s -> 521 s). A test that needs more threads sets them itself.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
nbdev-test --n-workers 2 --timing
stage "notebook tests (nbdev-test)"

# Two workers, one test file each at a time (--dist loadfile keeps a file's module fixtures, such as a trained run, in
# one process): the files' CLI runs spend much of their time starting Python single-threaded.
python -m pytest -q -n 2 --dist loadfile --durations 15 "$@"
stage "pytest"
