import os, shutil, sys, tempfile
from pathlib import Path
import pytest

os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')

@pytest.fixture(scope='session')
def cli():
    "The installed `resnet_fa` console script (from the same environment as this Python)."
    exe = Path(sys.executable).parent/'resnet_fa'
    if not exe.exists(): exe = shutil.which('resnet_fa')
    assert exe, "the resnet_fa console script is not installed: pip install -e ."
    return str(exe)
