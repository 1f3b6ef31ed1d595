import os, shutil, sys, tempfile
from pathlib import Path
import pytest

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
# the repository's development helpers (sample data): tools/devdata.py, not part of the library
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tools'))
os.environ.setdefault('MPLBACKEND', 'Agg')

def pytest_configure(config):
    "Under pytest-xdist, each worker trains with one thread, so that two workers share the cores instead of fighting over them."
    if os.environ.get('PYTEST_XDIST_WORKER'):
        import torch
        torch.set_num_threads(1)

@pytest.fixture(scope='session')
def cli():
    "The installed `resnet_fa` console script (from the same environment as this Python)."
    exe = Path(sys.executable).parent/'resnet_fa'
    if not exe.exists(): exe = shutil.which('resnet_fa')
    assert exe, "the resnet_fa console script is not installed: pip install -e ."
    return str(exe)

@pytest.fixture(scope='session')
def cifar_subset(tmp_path_factory):
    "Make a folder linking the first `n_train` + `n_valid` CIFAR-10 images of each class into train/ and valid/."
    def make(n_train:int, n_valid:int, classes=None):
        from devdata import sample_data
        src = sample_data('cifar10')
        if src is None: pytest.skip('CIFAR-10 sample data not available')
        dest = tmp_path_factory.mktemp('cifar')
        for c in classes or sorted(p.name for p in (src/'train').iterdir()):
            files = sorted((src/'train'/c).iterdir())[:n_train+n_valid]
            for split, fs in (('train', files[:n_train]), ('valid', files[n_train:])):
                (dest/split/c).mkdir(parents=True)
                for f in fs: (dest/split/c/f.name).symlink_to(f)
        return dest
    return make
