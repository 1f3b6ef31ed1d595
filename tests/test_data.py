"Tests of `resnet_fa.data`: every loader on real images (skipped without ../shared/data) and on folders of bad files."
import os, shutil
import numpy as np, pytest, torch
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from fastai.vision.all import (Learner, load_learner, ClassificationInterpretation, accuracy, FlipItem,
                               get_image_files, parent_label, cifar_stats)
from resnet_fa.core import ResnetFaError
from resnet_fa.data import *
from helpers import make_bad_folder, tiny_net, sample
from devdata import subset_folder


# ---------------------------------------------------------------- helpers
def check_batch(dl, bs, size):
    "Shape, dtype and value range of one normalised batch."
    x, y = dl.one_batch()
    assert x.shape == (bs, 3, size, size) and x.dtype == torch.float32 and y.shape == (bs,)
    assert -3.5 < float(x.min()) < 0 < float(x.max()) < 3.5, (float(x.min()), float(x.max()))
    assert int(y.min()) >= 0 and int(y.max()) < len(dl.vocab)
    return x, y

def check_show_batch(dls, tmp_path, n=4):
    "`show_batch` draws `n` images and the figure saves to a non-empty PNG."
    plt.close('all')
    dls.show_batch(max_n=n, figsize=(4, 4))
    fig = plt.gcf()
    assert sum(bool(ax.images) for ax in fig.axes) == n
    fig.savefig(tmp_path/'batch.png'); plt.close(fig)
    assert (tmp_path/'batch.png').stat().st_size > 1000

def epoch_count(dls):
    "Number of items served by one whole training and validation epoch (proves nothing fails mid-epoch)."
    return sum(len(x) for x, y in dls.train) + sum(len(x) for x, y in dls.valid)

def bad_messages(record):
    return [str(w.message) for w in record if issubclass(w.category, BadImageWarning)]


# ---------------------------------------------------------------- bad input (always runs)
@pytest.fixture
def bad(tmp_path): return make_bad_folder(tmp_path/'bad')

def test_bad_files_reported_once_and_skipped(bad):
    with pytest.warns(BadImageWarning) as record: files = image_files(bad)
    msgs = bad_messages(record)
    assert len(msgs) == 3
    unreadable = next(m for m in msgs if 'unreadable' in m)
    for name in ['truncated.jpg', 'zero.jpg', 'notes.jpg']: assert str(bad/'cat'/name) in unreadable
    assert 'labels.mat' in next(m for m in msgs if 'non-image' in m)
    assert 'fox' in next(m for m in msgs if 'no images' in m)
    names = {f.name for f in files}
    assert {'cmyk.jpg', 'rgba.png', 'palette.png', 'grey.png'} <= names
    assert not names & {'truncated.jpg', 'zero.jpg', 'notes.jpg', 'labels.mat', 'readme.txt'}

@pytest.mark.parametrize('fn', ['cmyk.jpg', 'rgba.png', 'palette.png', 'grey.png'])
def test_odd_modes_become_rgb(bad, fn):
    path = next(bad.rglob(fn))
    im = open_rgb(path)
    assert im.mode == 'RGB' and np.asarray(im).shape[2] == 3

def test_bad_folder_trains_a_whole_epoch(bad, tmp_path):
    with pytest.warns(BadImageWarning): dls = get_dls(bad, size=32, bs=4, num_workers=0)
    assert dls.vocab == ['cat', 'dog']  # the empty 'fox' folder is not a class
    assert (len(dls.train_ds), len(dls.valid_ds)) == (16, 4)
    assert epoch_count(dls) == 20
    learn = Learner(dls, tiny_net(2), metrics=accuracy)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    assert np.isfinite(learn.recorder.values[-1]).all()

def test_bad_folder_with_workers(bad):
    with pytest.warns(BadImageWarning): dls = folder_dls(bad, size=32, bs=4, num_workers=2)
    assert epoch_count(dls) == 20

def test_bad_files_in_cifar_layout_fast_path(bad, tmp_path):
    root = tmp_path/'c'; shutil.copytree(bad, root/'train')
    with pytest.warns(BadImageWarning) as record: dls = cifar_dls(root, bs=4, fast=True, valid=0.2)
    assert any('truncated.jpg' in m for m in bad_messages(record))
    assert isinstance(dls.train, TensorImageDL) and dls.vocab == ['cat', 'dog']
    assert epoch_count(dls) == 20

def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(ResnetFaError, match='No such folder'): get_dls(tmp_path/'nope')
    (tmp_path/'empty'/'a').mkdir(parents=True)
    with pytest.raises(ResnetFaError, match='No usable images'), pytest.warns(BadImageWarning):
        get_dls(tmp_path/'empty')
    only_bad = tmp_path/'only_bad'/'a'; only_bad.mkdir(parents=True); (only_bad/'x.jpg').write_bytes(b'')
    with pytest.raises(ResnetFaError, match='No usable images'), pytest.warns(BadImageWarning):
        get_dls(tmp_path/'only_bad')
    (tmp_path/'file.txt').write_text('x')
    with pytest.raises(ResnetFaError, match='got a file'): get_dls(tmp_path/'file.txt')
    with pytest.raises(ResnetFaError, match="Expected a 'train' folder"): cifar_dls(tmp_path/'empty')
    with pytest.raises(ResnetFaError, match="Expected an 'images' folder"): pets_dls(tmp_path/'empty')
    with pytest.raises(ResnetFaError, match='Unknown augment'): get_dls(size=32, augment='fancy')

def test_archive_source(tmp_path, monkeypatch):
    "A .tgz of a folder of class subfolders is unpacked once and loaded like the folder."
    import tarfile
    src = make_bad_folder(tmp_path/'src'/'pics')
    with tarfile.open(tmp_path/'pics.tgz', 'w:gz') as tf: tf.add(src, arcname='pics')
    monkeypatch.setenv('RESNET_FA_HOME', str(tmp_path/'home'))
    with pytest.warns(BadImageWarning): dls = get_dls(tmp_path/'pics.tgz', size=32, bs=4, num_workers=0)
    assert dls.vocab == ['cat', 'dog'] and dls.path.name == 'pics' and dls.path.parent.parent == tmp_path/'home'/'data'



# ---------------------------------------------------------------- the built-in digits
def test_digits_demo_defaults():
    dls = get_dls(num_workers=0)
    assert dls.vocab == [str(i) for i in range(10)]
    assert (len(dls.train_ds), len(dls.valid_ds)) == (1438, 359)
    counts = np.bincount([int(parent_label(f)) for f in get_image_files(digits_path())])
    assert counts.sum() == 1797 and len(counts) == 10 and counts.min() >= 170  # about 180 scans of each digit
    check_batch(dls.train, 64, 32); check_batch(dls.valid, 64, 32)
    # never flip digits
    assert not any(isinstance(t, FlipItem) or getattr(t, 'flip', False) for t in image_tfms(dls.train))
    assert dls.valid_ds.items == get_dls(num_workers=0).valid_ds.items  # same seed, same split
    assert dls.valid_ds.items != get_dls(seed=0, num_workers=0).valid_ds.items


# ---------------------------------------------------------------- real images from ../shared/data
@pytest.fixture(scope='module')
def cifar(tmp_path_factory):
    src = sample('cifar10')
    return src, subset_folder(src, tmp_path_factory.mktemp('cifar')/'cifar10', 20, folders=['train'])

@pytest.fixture(scope='module')
def woof(tmp_path_factory):
    src = sample('imagewoof2-160')
    return src, subset_folder(src, tmp_path_factory.mktemp('woof')/'woof', 12, folders=['train'])

@pytest.fixture(scope='module')
def pets(): return sample('oxford-iiit-pet')

def test_cifar_holdout_is_the_papers_45k_5k(cifar):
    src, _ = cifar
    files = sorted(get_image_files(src/'train'))
    valid = holdout_idx(files)
    assert len(files) == 50_000 and len(valid) == 5_000
    per_class = {}
    for i in valid: per_class.setdefault(parent_label(files[i]), []).append(files[i].name)
    assert len(per_class) == 10 and all(len(v) == 500 for v in per_class.values())
    assert per_class['cat'] == [f'{i:04d}.jpg' for i in range(4500, 5000)]  # the last 500 in sorted order

def test_cifar_datablock(cifar, tmp_path):
    _, sub = cifar
    dls = cifar_dls(sub, bs=32, num_workers=0)
    assert dls.vocab == (sub/'labels.txt').read_text().split()
    assert (len(dls.train_ds), len(dls.valid_ds)) == (180, 20)
    assert np.bincount([int(y) for _, y in dls.valid_ds]).tolist() == [2]*10
    check_batch(dls.train, 32, 32); check_batch(dls.valid, 20, 32)
    check_show_batch(dls, tmp_path)
    r = cifar_dls(sub, bs=32, valid=0.3, seed=1, num_workers=0)
    assert len(r.valid_ds) == 60
    assert r.valid_ds.items == cifar_dls(sub, bs=32, valid=0.3, seed=1, num_workers=0).valid_ds.items

def test_cifar_fast_path(cifar, tmp_path):
    _, sub = cifar
    dls = cifar_dls(sub, bs=32, num_workers=0)
    fdls = get_dls(sub, bs=32)  # CIFAR layout -> the fast path by default
    assert isinstance(fdls.train, TensorImageDL) and fdls.vocab == dls.vocab
    assert (len(fdls.train_ds), len(fdls.valid_ds)) == (180, 20)
    check_batch(fdls.train, 32, 32)
    vx, vy = fdls.valid.one_batch(); dx, dy = dls.valid.one_batch()
    assert torch.allclose(vx, dx, atol=1e-4) and (vy == dy).all()
    assert epoch_count(fdls) == 180//32*32 + 20
    check_show_batch(fdls, tmp_path)
    learn = Learner(fdls, tiny_net(10), metrics=accuracy, path=tmp_path)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-2)
        interp = ClassificationInterpretation.from_learner(learn)
        assert interp.confusion_matrix().sum() == 20
        learn.export('tiny.pkl')
        assert (tmp_path/'tiny.pkl').stat().st_size < 1_000_000  # the cached images are not pickled
        loaded = load_learner(tmp_path/'tiny.pkl')
        f = fdls.valid_ds.items[3]
        assert loaded.predict(f)[0] == learn.predict(f)[0]
        assert loaded.dls.vocab == fdls.vocab

def test_dataset_stats_match_cifar(cifar):
    _, sub = cifar
    mean, std = dataset_stats(sub/'train', n=200)
    assert np.allclose(mean, cifar_stats[0], atol=0.05) and np.allclose(std, cifar_stats[1], atol=0.05)

def test_imagewoof(woof, tmp_path):
    src, sub = woof
    dls = imagenet_dls(sub, size=96, bs=16, num_workers=0)
    assert sorted(dls.vocab) == sorted(wnid_names(src, os.listdir(src/'train')).values())
    assert {'beagle', 'Shih-Tzu', 'golden retriever', 'dingo'} <= set(dls.vocab)
    assert len(dls.train_ds) + len(dls.valid_ds) == 120 and len(dls.valid_ds) == 24
    check_batch(dls.train, 16, 96); check_batch(dls.valid, 16, 96)
    check_show_batch(dls, tmp_path)
    set_size(dls, 64); check_batch(dls.train, 16, 64); check_batch(dls.valid, 16, 64)
    for aug in ['paper', 'trivialaugment', 'none', 'light']:
        check_batch(get_dls(sub, size=64, bs=8, augment=aug, num_workers=0).train, 8, 64)
    assert imagenet_dls(sub, size=64, names=False, num_workers=0).vocab[0].startswith('n0')

def test_progressive_resize_callback(woof):
    "`ProgressiveResize` changes the size of the batches between epochs, workers included."
    from fastai.callback.core import Callback
    _, sub = woof
    class Sizes(Callback):
        def before_fit(self): self.seen = []
        def before_batch(self):
            if self.training: self.seen.append((self.epoch, self.xb[0].shape[-1]))
    dls = imagenet_dls(sub, size=64, bs=16, num_workers=2)
    sizes = Sizes()
    learn = Learner(dls, tiny_net(10), cbs=[ProgressiveResize({0: 32, 1: 48}), sizes])
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-3)
    assert {s for e, s in sizes.seen if e == 0} == {32} and {s for e, s in sizes.seen if e == 1} == {48}

def test_imagewoof_val_folder(woof, tmp_path):
    src, sub = woof
    root = tmp_path/'w'; root.mkdir(); (root/'train').symlink_to(sub/'train')
    subset_folder(sub/'train', root/'val', 2)
    dls = get_dls(root, size=64, bs=8, num_workers=2)
    assert len(dls.valid_ds) == 20 and all('/val/' in str(f) for f in dls.valid_ds.items)
    assert epoch_count(dls) == 120//8*8 + 20

def test_pets(pets, tmp_path):
    n = len(get_image_files(pets/'images'))
    dls = pets_dls(pets, size=64, bs=16, num_workers=0)
    assert len(dls.vocab) == 37 and len(dls.train_ds) + len(dls.valid_ds) == n and len(dls.valid_ds) == int(0.2*n)
    check_batch(dls.train, 16, 64); check_batch(dls.valid, 16, 64)
    check_show_batch(dls, tmp_path)
    sp = pets_dls(pets, size=64, bs=16, label='species', augment='albumentations', num_workers=0)
    assert sp.vocab == ['cat', 'dog']
    check_batch(sp.train, 16, 64); check_batch(sp.valid, 16, 64)
    assert any(isinstance(t, AlbumentationsTransform) and t.split_idx == 0 for t in image_tfms(sp.train))

def test_pets_official_split(pets, tmp_path):
    "With complete trainval.txt/test.txt the official split is used; images come from a copy of three breeds."
    root = tmp_path/'pets'; (root/'images').mkdir(parents=True); (root/'annotations').mkdir()
    breeds = ('Abyssinian', 'beagle', 'Bengal')
    files = [f for f in sorted(get_image_files(pets/'images')) if f.name.split('_')[0] in breeds]
    for f in files: (root/'images'/f.name).symlink_to(f)
    test = {f.stem for f in files[::4]}
    (root/'annotations'/'trainval.txt').write_text(''.join(f'{f.stem} 1 1 1\n' for f in files if f.stem not in test))
    (root/'annotations'/'test.txt').write_text(''.join(f'{s} 1 1 1\n' for s in sorted(test)))
    dls = get_dls(root, size=32, bs=8, num_workers=0)
    assert {f.stem for f in dls.valid_ds.items} == test
    assert dls.vocab == ['Abyssinian', 'Bengal', 'beagle']
    with pytest.raises(ResnetFaError, match='complete annotations'): pets_dls(pets, valid='official')


# ---------------------------------------------------------------- progress on long work (issue #25 item 4)
_UNPACK = "import sys; from resnet_fa.core import untar_local; print(untar_local(sys.argv[1]).name)"

def test_progress_is_one_line_in_logs_and_silenced_by_quiet(tmp_path):
    "Unpacking a large archive when output is not a terminal: one line, no `\\r` redraws; nothing with RESNET_FA_QUIET."
    import io, subprocess, sys, tarfile
    with tarfile.open(tmp_path/'many.tgz', 'w:gz') as tf:
        for i in range(2500):
            ti = tarfile.TarInfo(f'many/c{i % 2}/{i}.txt'); ti.size = 1; tf.addfile(ti, io.BytesIO(b'x'))
    def unpack(home, **env):
        r = subprocess.run([sys.executable, '-c', _UNPACK, str(tmp_path/'many.tgz')], capture_output=True, text=True,
                           env={**os.environ, 'RESNET_FA_HOME': str(tmp_path/home), 'PYTHONWARNINGS': 'ignore', **env},
                           timeout=300)
        assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == 'many', r.stderr
        return [l for l in (r.stdout + r.stderr).splitlines() if 'Unpacking' in l or '\r' in l]
    lines = unpack('h1')
    assert len(lines) == 1 and lines[0].startswith('Unpacking many.tgz (') and ' done in ' in lines[0], lines
    assert '\r' not in lines[0] and '█' not in lines[0]
    assert unpack('h2', RESNET_FA_QUIET='1') == []
