"""Sample data for resnet_fa's notebooks, tests, benchmarks and docs build: development tooling, not the library.

The real photographs the examples and tests use (CIFAR-10 train, Imagewoof2-160 train, an Oxford-IIIT Pet sample)
are archives in `../shared/data` beside the repository, or in the folder `$RESNET_FA_SAMPLE_DATA`. They are never
committed and never needed to install or use resnet_fa: a user passes their own folder or lets `get_dls` download.

Tests and bench scripts import this module with `tools/` on `sys.path`; a notebook does so in a hidden cell:

    import sys; from nbdev.config import get_config
    sys.path.insert(0, str(get_config().config_path/'tools'))
    from devdata import sample_data, subset_folder
"""
from __future__ import annotations
import os, shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]   # the repository
__all__ = ['sample_data_dir', 'sample_data', 'subset_folder', 'pets_subset']

def sample_data_dir() -> Path|None:
    "The folder of the sample archives: `$RESNET_FA_SAMPLE_DATA`, else `../shared/data` beside the repository."
    env = os.environ.get('RESNET_FA_SAMPLE_DATA')
    for d in ([Path(env).expanduser()] if env else []) + [ROOT.parent/'shared'/'data']:
        if d.is_dir() and any(d.glob('*.tgz')): return d
    return None

def sample_data(name:str) -> Path|None:
    "Folder of the sample dataset `name` ('cifar10', 'imagewoof2-160' or 'oxford-iiit-pet'), or None if absent."
    from resnet_fa.core import untar_local   # unpacked once into resnet_fa's cache, keyed by the archive
    d = sample_data_dir()
    archive = d/f'{name}.tgz' if d else None
    return untar_local(archive) if archive and archive.is_file() else None

def subset_folder(src, # a folder (or archive) of class folders
                  dest, # the folder of links, created if missing
                  n:int, # the first `n` images (sorted) of each class
                  folders=None # the top folders of `src` with class folders, e.g. ['train'] (None: `src`)
                 ) -> Path:
    "Symlink the first `n` images of each class folder of `src` (a folder or archive; under `folders`) into `dest`."
    from fastai.data.transforms import get_image_files
    from resnet_fa.core import resolve_data
    from resnet_fa.data import _class_folders   # the class folders as the loaders see them
    src, dest = resolve_data(src), Path(dest)
    for d in _class_folders(src, folders):
        out = dest/d.relative_to(src); out.mkdir(parents=True, exist_ok=True)
        for f in sorted(get_image_files(d))[:n]:
            if not (out/f.name).exists(): (out/f.name).symlink_to(f)
    for f in src.glob('*.txt'): shutil.copy(f, dest/f.name)   # class-name files (labels.txt, LOC_synset_mapping.txt)
    return dest

def pets_subset(src, # a Pets-layout folder or archive (`images/<Breed_name>_<n>.jpg`, `annotations/`)
                dest, # the folder of links, created if missing
                breeds # the breeds to keep, as `pet_breed` names them
               ) -> Path:
    "Symlink the Pets images of `breeds` into `dest/images`, with the annotation lists (so the official split holds)."
    from resnet_fa.core import resolve_data
    from resnet_fa.data import image_files, pet_breed
    src, dest = resolve_data(src), Path(dest)
    (dest/'images').mkdir(parents=True, exist_ok=True)
    for f in image_files(src/'images'):
        if pet_breed(f) in breeds and not (dest/'images'/f.name).exists(): (dest/'images'/f.name).symlink_to(f)
    if (src/'annotations').is_dir(): shutil.copytree(src/'annotations', dest/'annotations', dirs_exist_ok=True)
    return dest
