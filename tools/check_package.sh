#!/usr/bin/env bash
# The package as a user gets it: `python -m build` makes a wheel and an sdist; the wheel holds the library only;
# installed (not editable) into a fresh venv, `from resnet_fa.all import *` and `resnet_fa --help` work there.
# Usage: ./tools/check_package.sh [DIST_DIR]   (default: a temporary folder; needs the `build` package)
# Fast metadata checks (README as description, license, classifiers, URLs, version) are in tests/test_package.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_ALBUMENTATIONS_UPDATE=1 MPLBACKEND=Agg PIP_DISABLE_PIP_VERSION_CHECK=1
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dist="${1:-$work/dist}"
start=$(date +%s); last=$start
stage() { local now; now=$(date +%s); echo "::stage '$1' took $((now-last)) s"; last=$now; }
fail() { echo "FAIL: $*" >&2; exit 1; }

python -m build --outdir "$dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "python -m build failed"; }
version=$(python -c "import re,pathlib; print(re.search(r'^__version__\s*=\s*[\"\']([^\"\']+)', pathlib.Path('resnet_fa/__init__.py').read_text(), re.M)[1])")
wheel="$dist/resnet_fa-$version-py3-none-any.whl"
sdist="$dist/resnet_fa-$version.tar.gz"
[ -f "$wheel" ] || fail "no wheel $wheel (built: $(ls "$dist"))"
[ -f "$sdist" ] || fail "no sdist $sdist (built: $(ls "$dist"))"
echo "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KB) and $(basename "$sdist") ($(du -k "$sdist" | cut -f1) KB)"
stage "python -m build"

# The wheel: the library's modules and its dist-info, nothing else (no notebooks, tests, bench, data).
python - "$wheel" "$version" <<'EOF'
import sys, zipfile, pathlib
whl, version = sys.argv[1], sys.argv[2]
names = zipfile.ZipFile(whl).namelist()
bad = [n for n in names if not (n.startswith('resnet_fa/') or n.startswith(f'resnet_fa-{version}.dist-info/'))]
if bad: sys.exit(f"FAIL: the wheel holds files outside the library: {bad}")
missing = {f'resnet_fa/{p.name}' for p in pathlib.Path('resnet_fa').glob('*.py')} - set(names)
if missing: sys.exit(f"FAIL: modules missing from the wheel: {sorted(missing)}")
print(f"wheel: {len(names)} files, all under resnet_fa/ or its dist-info")
EOF
# The sdist: enough to rebuild the wheel (pyproject, README, the library).
tar tzf "$sdist" >"$work/sdist.txt"
for f in pyproject.toml README.md resnet_fa/__init__.py resnet_fa/core.py; do
  grep -qx "resnet_fa-$version/$f" "$work/sdist.txt" || fail "the sdist lacks $f"
done
if [ -f LICENSE ]; then grep -q "resnet_fa-$version/LICENSE" "$work/sdist.txt" || fail "the sdist lacks LICENSE"; fi
stage "wheel and sdist contents"

# A fresh venv with the wheel installed (not editable). Its dependencies are the ones this environment already
# resolved from the same pyproject.toml, made visible through a .pth file instead of a second 5 GB copy of torch
# (that copy took two of CI's minutes); `pip check` then verifies the wheel's own requirements against them.
# CHECK_PACKAGE_FULL=1 installs everything from scratch instead, as a user's `pip install resnet_fa` does.
python3 -m venv "$work/venv"
if [ "${CHECK_PACKAGE_FULL:-0}" = 1 ]; then
  "$work/venv/bin/pip" install -q "$wheel" >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; fail "pip could not install the wheel"; }
else
  deps=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  new_site=$("$work/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  echo "$deps" >"$new_site/_test_dependencies.pth"   # a plain path line: the editable resnet_fa's own .pth is not run
  # the venv's own old setuptools would shadow the one torch requires (and `pip check` would rightly say so)
  "$work/venv/bin/pip" uninstall -q -y setuptools >/dev/null 2>&1 || true
  "$work/venv/bin/pip" install -q --no-deps "$wheel" >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; fail "pip could not install the wheel"; }
fi
"$work/venv/bin/pip" check >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; fail "pip check found broken dependencies"; }
stage "install the wheel into a fresh venv"

# Run from an empty folder so that the checkout's resnet_fa/ cannot be imported instead of the installed one.
cd "$work"
"$work/venv/bin/python" -W ignore::FutureWarning - "$version" "$root" <<'EOF'
import sys, pathlib
from resnet_fa.all import *
import resnet_fa
where = pathlib.Path(resnet_fa.__file__).resolve()
if pathlib.Path(sys.argv[2]).resolve() in where.parents: sys.exit(f"FAIL: imported the checkout ({where}), not the wheel")
if resnet_fa.__version__ != sys.argv[1]: sys.exit(f"FAIL: installed version {resnet_fa.__version__} != {sys.argv[1]}")
print(f"from resnet_fa.all import *: ok (resnet_fa {resnet_fa.__version__} from {where.parent})")
EOF
"$work/venv/bin/resnet_fa" --help >"$work/help.txt" 2>&1 || { cat "$work/help.txt" >&2; fail "resnet_fa --help failed"; }
grep -qi "usage" "$work/help.txt" || { cat "$work/help.txt" >&2; fail "resnet_fa --help printed no usage"; }
echo "resnet_fa --help: ok ($(wc -l <"$work/help.txt") lines)"
# The versions this check ran with: the ones the dependency ranges in pyproject.toml are tested on.
echo "tested with: Python $("$work/venv/bin/python" -c 'import platform; print(platform.python_version())'), $("$work/venv/bin/pip" list --format=freeze 2>/dev/null | grep -iE '^(fastai|torch|torchvision|timm|albumentations|scikit-learn|safetensors|grad-cam)==' | tr '\n' ' ')"
stage "import and console script from the installed wheel"
echo "package checks passed in $(( $(date +%s) - start )) s"
