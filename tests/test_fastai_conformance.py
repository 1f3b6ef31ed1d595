"""The contract with fastai: every DataLoaders family resnet_fa makes, and fastai's own `ImageDataLoaders`, passed to
`resnet_learner`, support every operation a fastai user relies on (issue #25).

Families x operations: each test below is one operation, parametrized over the families by the `fam` fixture
(built once per family, small data, size 32 at most, a ResNet-20). Every cell asserts a result: a class name from
the vocabulary, a shape, a figure, a file. The CIFAR families need ../shared/data (they skip without it); the
others are made in a temporary folder.
"""
import os, subprocess, sys, textwrap
from pathlib import Path
from types import SimpleNamespace
import numpy as np, pytest, torch
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from fastai.vision.all import (ImageDataLoaders, Resize, PILImage, ClassificationInterpretation, MixUp, CutMix,
                               SaveModelCallback, EarlyStoppingCallback, CrossEntropyLossFlat, Adam, accuracy)
from resnet_fa.data import get_dls, TensorImageDL
from resnet_fa.learner import resnet_learner
from helpers import make_class_folder

FAMILIES = ['digits', 'pets', 'cifar_fast', 'cifar_block', 'imagenet', 'folder', 'fastai']
IMAGENET_WNIDS = {'n01440764': 'tench', 'n02102040': 'English springer', 'n03888257': 'parachute'}


# ---------------------------------------------------------------- the families
def _pets_folder(root:Path) -> Path:
    "A Pets-layout folder: images/<Breed_name>_<n>.jpg (upper-case first letter: a cat breed)."
    src = make_class_folder(root/'src', classes=('Abyssinian', 'Bengal', 'beagle'), n=12, size=(48, 40))
    (root/'pets'/'images').mkdir(parents=True)
    for f in src.rglob('*.jpg'): f.rename(root/'pets'/'images'/f.name)  # make_class_folder names them <class>_<i>
    return root/'pets'

def _imagenet_folder(root:Path) -> Path:
    "train/<wnid>/* and val/<wnid>/*, images larger than the training size."
    for split, n in (('train', 10), ('val', 3)):
        make_class_folder(root/'inet'/split, classes=tuple(IMAGENET_WNIDS), n=n, size=(64, 80), seed=len(split))
    return root/'inet'

def _make_dls(kind:str, root:Path, cifar_subset):
    if kind == 'digits': return get_dls('digits', size=16, bs=64, valid=0.5, num_workers=0)
    if kind == 'pets': return get_dls(_pets_folder(root), size=32, bs=8, num_workers=0)
    if kind in ('cifar_fast', 'cifar_block'):
        sub = cifar_subset(8, 2)
        return get_dls(sub, valid='valid', bs=16, num_workers=0, fast=kind == 'cifar_fast')
    if kind == 'imagenet': return get_dls(_imagenet_folder(root), size=32, bs=8, num_workers=0)
    if kind == 'folder': return get_dls(make_class_folder(root/'plain'), size=32, bs=8, num_workers=0)
    if kind == 'fastai':
        return ImageDataLoaders.from_folder(make_class_folder(root/'plain'), valid_pct=0.25, seed=0,
                                            item_tfms=Resize(32), bs=8, num_workers=0)
    raise ValueError(kind)

@pytest.fixture(scope='module', params=FAMILIES)
def fam(request, tmp_path_factory, cifar_subset):
    "One family: its DataLoaders, a resnet_learner on them (trained one epoch), and a validation image file."
    root = tmp_path_factory.mktemp(request.param)
    dls = _make_dls(request.param, root, cifar_subset)
    (root/'run').mkdir()
    learn = resnet_learner(dls, 'resnet20', path=root/'run')
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-2)
    item = Path(dls.valid_ds.items[0])
    return SimpleNamespace(kind=request.param, dls=dls, learn=learn, item=item, vocab=list(map(str, dls.vocab)),
                           root=root, n_valid=len(dls.valid_ds))

def test_family_layout(fam):
    "Each family is what it says: the fast path where expected, readable class names, the right vocabulary."
    assert isinstance(fam.dls.train, TensorImageDL) == (fam.kind == 'cifar_fast')
    expected = {'digits': [str(i) for i in range(10)], 'pets': ['Abyssinian', 'Bengal', 'beagle'],
                'imagenet': sorted(IMAGENET_WNIDS.values()), 'folder': ['ant', 'bee', 'cow'],
                'fastai': ['ant', 'bee', 'cow']}
    if fam.kind in expected: assert fam.vocab == expected[fam.kind]
    else: assert len(fam.vocab) == 10 and 'cat' in fam.vocab


# ---------------------------------------------------------------- data
def test_one_batch(fam):
    x, y = fam.dls.one_batch()
    assert x.ndim == 4 and x.shape[1] == 3 and x.shape[2] == x.shape[3] <= 32 and x.dtype == torch.float32
    assert y.shape == (x.shape[0],) and 0 <= int(y.min()) and int(y.max()) < len(fam.vocab)

def test_show_batch(fam, tmp_path):
    plt.close('all')
    fam.dls.show_batch(max_n=4, figsize=(4, 4))
    fig = plt.gcf()
    assert sum(bool(ax.images) for ax in fig.axes) == 4
    assert {ax.get_title() for ax in fig.axes if ax.images} <= set(fam.vocab)
    fig.savefig(tmp_path/'b.png'); plt.close('all')
    assert (tmp_path/'b.png').stat().st_size > 1000

def test_test_dl_with_labels(fam):
    items = list(fam.dls.valid_ds.items[:4])
    x, y = fam.dls.test_dl(items, with_labels=True).one_batch()
    assert x.shape[0] == len(items)
    assert [fam.vocab[i] for i in y] == [fam.vocab[int(fam.dls.valid_ds[i][1])] for i in range(len(items))]


# ---------------------------------------------------------------- inference
def test_predict_str_path_pil_array(fam):
    "`learn.predict` on a str, a Path, a PILImage and a numpy array: the same class from the vocabulary."
    f = fam.item
    outs = [fam.learn.predict(x) for x in (f, str(f), PILImage.create(f), np.asarray(PILImage.create(f)))]
    for cls, idx, probs in outs:
        assert cls in fam.vocab and fam.vocab[int(idx)] == cls
        assert probs.shape == (len(fam.vocab),) and abs(float(probs.sum()) - 1) < 1e-4
    for _, _, probs in outs[1:]: assert torch.allclose(probs, outs[0][2], atol=1e-4)

def test_get_preds_and_validate(fam):
    preds, targs = fam.learn.get_preds()
    assert preds.shape == (fam.n_valid, len(fam.vocab)) and targs.shape == (fam.n_valid,)
    assert torch.allclose(preds.sum(1), torch.ones(fam.n_valid), atol=1e-4)
    res = fam.learn.validate()
    assert len(res) >= 2 and all(np.isfinite(float(v)) for v in res)
    assert abs(float(res[1]) - float((preds.argmax(1) == targs).float().mean())) < 1e-6  # accuracy

def test_tta(fam):
    preds, targs = fam.learn.tta(n=2)
    assert preds.shape == (fam.n_valid, len(fam.vocab)) and targs.shape == (fam.n_valid,)
    assert torch.isfinite(preds).all()

def test_show_results(fam):
    plt.close('all')
    fam.learn.show_results(max_n=4, figsize=(4, 4))
    fig = plt.gcf()
    assert sum(bool(ax.images) for ax in fig.axes) == 4
    plt.close('all')

def test_classification_interpretation(fam):
    interp = ClassificationInterpretation.from_learner(fam.learn)
    cm = interp.confusion_matrix()
    assert cm.shape == (len(fam.vocab),)*2 and cm.sum() == fam.n_valid
    plt.close('all')
    interp.plot_confusion_matrix(); assert plt.gcf().axes; plt.close('all')
    k = min(6, fam.n_valid)
    interp.plot_top_losses(k); assert sum(bool(ax.images) for ax in plt.gcf().axes) == k; plt.close('all')
    for actual, predicted, n in interp.most_confused(min_val=1):
        assert actual in fam.vocab and predicted in fam.vocab and n >= 1


# ---------------------------------------------------------------- training
def test_lr_find_returns_suggested_lrs(fam):
    before = [p.detach().clone() for p in fam.learn.model.parameters()]
    with fam.learn.no_bar(), fam.learn.no_logging(): res = fam.learn.lr_find(num_it=20, show_plot=False)
    assert type(res).__name__ == 'SuggestedLRs' and res.valley > 0
    assert all(torch.equal(a, b) for a, b in zip(before, fam.learn.model.parameters()))  # weights restored

def test_fine_tune(fam):
    with fam.learn.no_bar(), fam.learn.no_logging(): fam.learn.fine_tune(1, 1e-3)
    vals = fam.learn.recorder.values
    assert len(vals) == 1 and all(np.isfinite(v) for v in vals[0])

@pytest.mark.parametrize('mix', [MixUp, CutMix])
def test_mixup_cutmix(fam, mix):
    "Training with fastai's MixUp/CutMix leaves the loss and inference as they were (fastai #3180, #3486)."
    loss = fam.learn.loss_func
    with fam.learn.no_bar(), fam.learn.no_logging():
        fam.learn.fit(1, 1e-3, cbs=mix())
        assert len(fam.learn.recorder.values) == 1 and np.isfinite(float(fam.learn.recorder.values[0][0]))
        assert fam.learn.loss_func is loss
        assert type(fam.learn.lr_find(num_it=10, show_plot=False)).__name__ == 'SuggestedLRs'
    assert fam.learn.predict(str(fam.item))[0] in fam.vocab

def test_save_model_and_early_stopping(fam):
    learn = fam.learn
    best = learn.path/learn.model_dir/'conformance_best.pth'
    best.unlink(missing_ok=True)
    with learn.no_bar(), learn.no_logging():
        learn.fit(2, 1e-3, cbs=[SaveModelCallback(monitor='valid_loss', fname='conformance_best'),
                                EarlyStoppingCallback(monitor='valid_loss', patience=0)])
    assert best.is_file() and best.stat().st_size > 10_000
    assert 1 <= len(learn.recorder.values) <= 2


def test_resnet_learner_takes_vision_learner_args(fam):
    "`resnet_learner` accepts `vision_learner`/`Learner` arguments with fastai's meaning (issue #25, item 2)."
    loss = CrossEntropyLossFlat()
    learn = resnet_learner(fam.dls, 'resnet20', loss_func=loss, opt_func=Adam, lr=3e-3, metrics=[accuracy],
                           path=fam.root/'args')
    assert learn.loss_func is loss and learn.opt_func is Adam and learn.lr == 3e-3
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    assert len(learn.recorder.values) == 1 and all(np.isfinite(float(v)) for v in learn.recorder.values[0])


# ---------------------------------------------------------------- export, then load in a fresh process
def test_export_load_learner_fresh_process(fam):
    "The export loads in a process that imports only `fastai.vision.all`, and predicts on a str."
    fam.learn.export('conformance.pkl')
    pkl = fam.learn.path/'conformance.pkl'
    assert pkl.is_file()
    code = textwrap.dedent('''
        import sys, warnings
        warnings.simplefilter('ignore')
        from fastai.vision.all import *
        learn = load_learner(sys.argv[1])
        print(learn.predict(sys.argv[2])[0])
        print('|'.join(map(str, learn.dls.vocab)))''')
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    r = subprocess.run([sys.executable, '-c', code, str(pkl), str(fam.item)], capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    cls, vocab = r.stdout.strip().splitlines()[-2:]
    assert vocab.split('|') == fam.vocab
    assert cls == fam.learn.predict(str(fam.item))[0]
