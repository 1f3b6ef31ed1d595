"What a user gets from PyPI: the wheel holds the library only, and its metadata is complete and true."
import email, re, subprocess, sys, tomllib, zipfile
from importlib.metadata import version as installed_version, PackageNotFoundError
from pathlib import Path
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT/'pyproject.toml').read_text())
LIB = PYPROJECT['tool']['nbdev'].get('lib_path', 'resnet_fa')

@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    "The wheel pip builds from this checkout (the same build backend `python -m build` uses)."
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', '-w', str(out), str(ROOT)], check=True)
    (whl,) = out.glob('*.whl')
    with zipfile.ZipFile(whl) as z: yield z

def dist_info(wheel) -> str: return next(n.split('/')[0] for n in wheel.namelist() if '.dist-info/' in n)

@pytest.fixture(scope='module')
def metadata(wheel) -> email.message.Message:
    return email.message_from_bytes(wheel.read(f'{dist_info(wheel)}/METADATA'))

def source_version() -> str:
    "`__version__` as written in the library's `__init__.py` (the one place the version lives)."
    return re.search(r'^__version__\s*=\s*[\'"]([^\'"]+)', (ROOT/LIB/'__init__.py').read_text(), re.M)[1]

def test_wheel_holds_the_library_only(wheel):
    names = wheel.namelist()
    outside = [n for n in names if not (n.startswith(f'{LIB}/') or n.startswith(f'{dist_info(wheel)}/'))]
    assert not outside, f"the wheel holds files outside the library: {outside}"
    assert not [n for n in names if n.endswith(('.ipynb', '.pth', '.safetensors', '.tgz', '.jpg', '.png'))]
    assert not [n for n in names if re.search(r'(^|/)(tests?|nbs|bench|data)/', n)]
    modules = {f'{LIB}/{p.name}' for p in (ROOT/LIB).glob('*.py')}
    assert modules <= set(names), f"modules missing from the wheel: {modules - set(names)}"

def test_version_comes_from_one_place(metadata):
    assert 'version' not in PYPROJECT['project'] and 'version' in PYPROJECT['project']['dynamic']
    assert PYPROJECT['tool']['setuptools']['dynamic']['version'] == {'attr': f'{LIB}.__version__'}
    assert metadata['Version'] == source_version()
    others = [p.name for p in (ROOT/LIB).glob('*.py') if p.name != '__init__.py' and re.search(r'^__version__\s*=', p.read_text(), re.M)]
    assert not others, f"__version__ is also set in {others}"
    assert not (ROOT/'settings.ini').exists(), "settings.ini would be a second place for the version"

def test_description_is_the_readme(metadata):
    assert metadata['Description-Content-Type'] == 'text/markdown'
    assert metadata.get_payload().strip() == (ROOT/'README.md').read_text().strip()
    assert len(metadata['Summary']) > 20

def test_license_classifiers_and_urls(metadata):
    assert metadata['License-Expression'] == PYPROJECT['project']['license']
    classifiers = metadata.get_all('Classifier')
    assert f'Programming Language :: Python :: {sys.version_info.major}.{sys.version_info.minor}' in classifiers
    assert any(c.startswith('Development Status ::') for c in classifiers)
    assert any(c.startswith('Topic ::') for c in classifiers)
    urls = dict(u.split(', ', 1) for u in metadata.get_all('Project-URL'))
    assert {'Repository', 'Documentation'} <= urls.keys()
    assert all(u.startswith('https://') for u in urls.values())
    assert urls['Documentation'].rstrip('/') in (ROOT/'mkdocs.yml').read_text(), "docs URL differs from mkdocs.yml's site_url"

def test_python_and_dependency_ranges_hold_the_tested_versions(metadata):
    "The versions this test suite runs on are inside every declared range (the ranges are ones we test)."
    running = f'{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}'
    assert running in SpecifierSet(metadata['Requires-Python'])
    listed = {c.rsplit(':: ', 1)[1] for c in metadata.get_all('Classifier') if re.match(r'Programming Language :: Python :: 3\.\d+$', c)}
    assert listed, "no Python version classifiers"
    for req in map(Requirement, metadata.get_all('Requires-Dist')):
        if req.marker and not req.marker.evaluate({'extra': 'dev'}): continue   # other extras: not installed here
        try: v = installed_version(req.name)
        except PackageNotFoundError: pytest.fail(f"{req.name} (a declared dependency) is not installed in the test environment")
        assert req.specifier.contains(v, prereleases=True), f"{req.name} {v} (tested) is outside the declared range {req.specifier}"

def test_console_script_and_nbdev_entry_points(wheel):
    eps = wheel.read(f'{dist_info(wheel)}/entry_points.txt').decode()
    assert re.search(r'^\[console_scripts\]\s*\nresnet_fa = resnet_fa\.cli:console_main$', eps, re.M)
    assert re.search(r'^resnet_fa = resnet_fa\._modidx:d$', eps, re.M)
