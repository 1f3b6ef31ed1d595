"Test helpers shared by the data tests: folders of bad files, tiny models and a sample-data lookup that skips."
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from torch import nn


def make_bad_folder(path) -> Path:
    "Write a small class folder with one of each kind of bad input into `path`."
    path = Path(path); rng = np.random.default_rng(0)
    for c in ['cat', 'dog']:
        (path/c).mkdir(parents=True, exist_ok=True)
        for i in range(8): Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path/c/f'{i}.jpg')
    good = (path/'cat'/'0.jpg').read_bytes()
    (path/'cat'/'truncated.jpg').write_bytes(good[:len(good)//2])
    (path/'cat'/'zero.jpg').write_bytes(b'')
    (path/'cat'/'notes.jpg').write_text('not an image')
    Image.new('CMYK', (40, 30), (0, 200, 0, 0)).save(path/'cat'/'cmyk.jpg')
    Image.new('RGBA', (30, 40), (0, 0, 255, 128)).save(path/'dog'/'rgba.png')
    Image.new('P', (30, 30), 3).save(path/'dog'/'palette.png')
    Image.new('L', (50, 30), 100).save(path/'dog'/'grey.png')
    (path/'dog'/'labels.mat').write_bytes(b'MATLAB 5.0 MAT-file')
    (path/'dog'/'readme.txt').write_text('hello')
    (path/'fox').mkdir(exist_ok=True)  # an empty class folder
    return path


def make_class_folder(path, classes=('ant', 'bee', 'cow'), n:int=12, size=(40, 48), seed:int=0) -> Path:
    "A folder of `n` random JPEGs per class, each class with its own mean colour (so a model can learn it)."
    path = Path(path); rng = np.random.default_rng(seed)
    for k, c in enumerate(classes):
        (path/c).mkdir(parents=True, exist_ok=True)
        base = np.zeros(3); base[k % 3] = 200
        for i in range(n):
            a = (base + rng.normal(0, 25, (*size, 3))).clip(0, 255).astype(np.uint8)
            Image.fromarray(a).save(path/c/f'{c}_{i}.jpg')
    return path


def tiny_net(c:int) -> nn.Module:
    "A model of a few hundred parameters with `c` outputs."
    from fastai.layers import Flatten
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, c, 3, stride=2, padding=1),
                         nn.AdaptiveAvgPool2d(1), Flatten())


def sample(name:str) -> Path:
    "The unpacked sample dataset `name` from ../shared/data, or skip the test."
    from devdata import sample_data
    path = sample_data(name)
    if path is None: pytest.skip(f"sample data '{name}' not found in ../shared/data")
    return path
