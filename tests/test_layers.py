"""The layering of resnet_fa's modules: each imports only from the layers below it (read from the source with `ast`,
imports inside functions included, so a lazy import cannot hide a cycle).

    core <- models, data <- callbacks <- learner <- distributed <- interpret <- run <- serve <- cli;  all: everything

`callbacks` may use `models` (the whitened stem's layer type); `interpret` works on any fastai `Learner` and knows
nothing of run folders, so `run` (which writes the reports at the end of a training run) sits above it; `distributed`
holds the multi-process pieces of the one training path, so it sits below `run`. Nothing imports `cli`."""
import ast
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parents[1]/'resnet_fa'

ALLOWED = {
    'core': set(),
    'models': {'core'},
    'data': {'core'},
    'callbacks': {'core', 'models'},
    'learner': {'core', 'models', 'data', 'callbacks'},
    'distributed': {'core', 'models', 'data', 'callbacks', 'learner'},
    'interpret': {'core', 'models', 'data', 'callbacks', 'learner', 'distributed'},
    'run': {'core', 'models', 'data', 'callbacks', 'learner', 'distributed', 'interpret'},
    'serve': {'core', 'models', 'data', 'callbacks', 'learner', 'distributed', 'interpret', 'run'},
    'cli': {'core', 'models', 'data', 'callbacks', 'learner', 'distributed', 'interpret', 'run', 'serve'},
}

def package_imports(path:Path) -> set[str]:
    "The resnet_fa modules `path` imports (`from .x`, `from resnet_fa.x`, `import resnet_fa.x`), anywhere in the file."
    mod, found = path.stem, set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1: name = node.module or ''
            elif node.module and (node.module == 'resnet_fa' or node.module.startswith('resnet_fa.')):
                name = node.module[len('resnet_fa.'):] if node.module != 'resnet_fa' else ''
            else: continue
            # `from resnet_fa import cli` / `from . import cli` name modules as imported names
            found |= {a.name for a in node.names} if name == '' else {name.split('.')[0]}
        elif isinstance(node, ast.Import):
            found |= {a.name.split('.')[1] for a in node.names if a.name.startswith('resnet_fa.')}
    return {m for m in found if (PKG/f'{m}.py').exists() and m != mod}

def modules(): return sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_'))

def test_every_module_has_a_layer():
    assert set(modules()) - {'all'} == set(ALLOWED), "a new module needs its place in ALLOWED (and in the docs)"

@pytest.mark.parametrize('mod', sorted(ALLOWED))
def test_imports_only_from_lower_layers(mod):
    extra = package_imports(PKG/f'{mod}.py') - ALLOWED[mod]
    assert not extra, f"resnet_fa.{mod} imports {sorted(extra)}, which are not below it"

def test_nothing_imports_cli():
    users = [m for m in modules() if m != 'all' and 'cli' in package_imports(PKG/f'{m}.py')]
    assert not users, f"{users} import resnet_fa.cli: the command line is the top layer"

def test_the_checker_sees_lazy_and_absolute_imports(tmp_path):
    "The checker finds imports inside functions and in every spelling, so a hidden cycle would fail the tests above."
    f = tmp_path/'serve.py'
    f.write_text("from .core import X\nimport resnet_fa.models\ndef g():\n    from resnet_fa.cli import main\n"
                 "    from resnet_fa import run\n")
    assert package_imports(f) == {'core', 'models', 'cli', 'run'}   # module names are looked up in the real package
