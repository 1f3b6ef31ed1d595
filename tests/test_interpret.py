"Interpretation, Grad-CAM, test-time protocols, TensorBoard and reports, on small models trained on real images."
import os
import numpy as np, pandas as pd, pytest, torch, torch.nn as nn
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
from fastai.vision.all import (ImageDataLoaders, Learner, Resize, accuracy, ConvLayer, ResBlock, Flatten, MixUp, CutMix,
                               set_seed, create_body, create_head)
from PIL import Image
from sklearn.metrics import classification_report, top_k_accuracy_score
from resnet_fa.core import ResnetFaError
from devdata import sample_data
from resnet_fa.interpret import (interpret, gradcam, gradcam_maps, gradcam_target_layer, plot_gradcam_grid,
                                 evaluate_protocols, log_interpretation_to_tensorboard, TensorBoardReport,
                                 write_reports, write_table, normalize_stats, tta_accuracies, ResnetInterpretation)

torch.set_num_threads(1)  # two shared cores: one thread is much faster than two under load
CLASSES = ['airplane', 'automobile', 'frog', 'ship', 'truck']

def link(files, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for f in files: (dest/f.name).symlink_to(f.resolve())

def tiny_resnet(n_out, nf=16):
    return nn.Sequential(ConvLayer(3, nf), ResBlock(1, nf, nf), ResBlock(1, nf, 2*nf, stride=2),
                         ResBlock(1, 2*nf, 4*nf, stride=2), nn.AdaptiveAvgPool2d(1), Flatten(), nn.Linear(4*nf, n_out))

def quiet_fit(learn, n, lr, one_cycle=True):
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(n, lr) if one_cycle else learn.fit(n, lr)
    return learn

@pytest.fixture(scope='module')
def cifar5(cifar_subset):
    "Five CIFAR-10 classes, 40 training and 20 validation images each, in train/valid class folders."
    return cifar_subset(40, 20, classes=CLASSES)

@pytest.fixture(scope='module')
def dls(cifar5):
    set_seed(0)
    return ImageDataLoaders.from_folder(cifar5, train='train', valid='valid', bs=32, num_workers=0)

@pytest.fixture(scope='module')
def learn(dls):
    set_seed(0)
    return quiet_fit(Learner(dls, tiny_resnet(len(CLASSES)), metrics=accuracy), 6, 1e-2)

@pytest.fixture(scope='module')
def interp(learn): return interpret(learn)

@pytest.fixture(scope='module')
def preds(learn):
    with learn.no_bar(): return learn.get_preds()

def test_confusion_matrix_sums_to_validation_size(interp, dls):
    cm = interp.confusion_matrix()
    assert cm.shape == (5, 5)
    assert cm.sum() == len(dls.valid_ds) == 100
    assert cm.sum(1).tolist() == [20]*5
    assert len(interp) == 100
    for actual, pred, n in interp.most_confused():
        assert actual != pred and n == cm[CLASSES.index(actual), CLASSES.index(pred)]

def test_per_class_agrees_with_sklearn(interp, preds):
    probs, targs = preds
    rep = classification_report(targs, probs.argmax(1), labels=range(5), output_dict=True, zero_division=0)
    pc = interp.per_class()
    assert list(pc.index) == CLASSES + ['macro avg', 'weighted avg']
    for i, c in enumerate(CLASSES):
        for col, key in (('precision', 'precision'), ('recall', 'recall'), ('f1', 'f1-score'), ('support', 'support')):
            assert pc.loc[c, col] == pytest.approx(rep[str(i)][key], abs=1e-9)
    for avg in ('macro avg', 'weighted avg'):
        for col, key in (('precision', 'precision'), ('recall', 'recall'), ('f1', 'f1-score'), ('support', 'support')):
            assert pc.loc[avg, col] == pytest.approx(rep[avg][key], abs=1e-9)
    accs = interp.topk_accuracy((1, 2, 5))
    assert accs[1] == pytest.approx(rep['accuracy'])
    assert accs[2] == pytest.approx(top_k_accuracy_score(targs, probs, k=2, labels=range(5)))
    assert accs[5] == 1.0
    assert interp.summary()['n'].item() == 100

def test_streamed_values_match_full_predictions(interp, preds):
    "Losses, predictions and PR curves kept by the streaming pass equal those from fastai's full `get_preds`."
    from torch.utils.tensorboard.summary import compute_curve
    probs, targs = preds
    assert torch.equal(interp.targs, targs.as_subclass(torch.Tensor).long())
    assert torch.equal(interp.decoded, probs.argmax(1).as_subclass(torch.Tensor))
    p, t = probs.as_subclass(torch.Tensor), targs.as_subclass(torch.Tensor).long()
    ce = torch.nn.functional.cross_entropy(torch.log(p), t, reduction='none')
    assert torch.allclose(interp.losses, ce, atol=1e-4)
    for c in range(5):
        tp, fp, tn, fn, _, _ = compute_curve((targs == c).numpy(), probs[:, c].numpy(), num_thresholds=127)
        curve = interp.pr_curve(c)
        assert np.array_equal(curve['true_positive_counts'], tp) and np.array_equal(curve['false_positive_counts'], fp)
        assert np.array_equal(curve['true_negative_counts'], tn) and np.array_equal(curve['false_negative_counts'], fn)

def test_memory_stays_bounded(interp):
    "Only a few numbers per image are kept: no inputs, no N x C score matrix."
    per_item = [v for v in vars(interp).values() if isinstance(v, torch.Tensor)]
    assert all(t.ndim == 1 and len(t) == 100 for t in per_item)
    assert sum(t.element_size()*t.numel() for t in per_item) <= 40*100

@pytest.mark.parametrize('mix', [MixUp, CutMix])
def test_interpretation_with_mixup_and_cutmix(dls, mix):
    set_seed(0)
    learn = quiet_fit(Learner(dls, tiny_resnet(5), metrics=accuracy, cbs=[mix()]), 1, 1e-3, one_cycle=False)
    lf, n_cbs = learn.loss_func, len(learn.cbs)
    it = interpret(learn)
    assert it.confusion_matrix().sum() == 100 and it.losses.shape == (100,)
    assert learn.loss_func is lf and len(learn.cbs) == n_cbs
    with learn.no_bar(), learn.removed_cbs([cb for cb in learn.cbs if isinstance(cb, mix)]):
        probs, targs = learn.get_preds()
    assert torch.equal(it.decoded, probs.argmax(1).as_subclass(torch.Tensor))
    # a mixing loss left swapped in (as after a cancelled run) is unwrapped
    m = next(cb for cb in learn.cbs if isinstance(cb, mix)); m.old_lf = lf
    learn.loss_func = m.lf
    try: assert torch.allclose(interpret(learn).losses, it.losses)
    finally: learn.loss_func = lf

def test_gradcam_target_layer_is_found_for_common_models():
    import torchvision, timm
    tv = torchvision.models.resnet18(num_classes=10)
    assert gradcam_target_layer(tv) is tv.layer4
    assert gradcam_target_layer(tv, torch.zeros(1, 3, 32, 32)) is tv.layer3  # layer4 is 1x1 for 32 px inputs
    tm = timm.create_model('resnet18', num_classes=10, pretrained=False)
    assert gradcam_target_layer(tm) is tm.layer4
    fa = nn.Sequential(create_body(torchvision.models.resnet18(), pretrained=False), create_head(512, 10))
    assert gradcam_target_layer(fa) is fa[0]
    class CifarNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = ConvLayer(3, 8)
            self.layer1, self.layer2 = ResBlock(1, 8, 8), ResBlock(1, 8, 16, stride=2)
            self.layer3 = ResBlock(1, 16, 32, stride=2)
            self.post_norm = nn.Identity()  # where a pre-activation net would normalise: a no-op here
            self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(32, 10)
        def forward(self, x):
            return self.fc(self.pool(self.post_norm(self.layer3(self.layer2(self.layer1(self.stem(x)))))).flatten(1))
    net = CifarNet()
    assert gradcam_target_layer(net, torch.zeros(1, 3, 32, 32)) is net.layer3
    with pytest.raises(ResnetFaError, match='no spatial feature map'):
        gradcam_target_layer(nn.Sequential(Flatten(), nn.Linear(12, 2)), torch.zeros(1, 3, 2, 2))

def test_gradcam_map(learn, dls):
    img = dls.valid_ds.items[0]
    x = dls.test_dl([img], num_workers=0).one_batch()[0]
    m = gradcam(learn, img)
    assert m.shape == tuple(x.shape[-2:]) == (32, 32)
    assert m.dtype == np.float32 and m.min() >= 0 and m.max() <= 1 and m.max() > 0.99
    maps = [gradcam(learn, x[0], target=c) for c in range(5)]
    assert max(np.abs(maps[0] - o).max() for o in maps[1:]) > 0.1  # the map depends on the target class
    assert np.allclose(gradcam(learn, img, target='frog'), maps[2], atol=1e-6)
    learn.model.eval()
    with torch.no_grad(): pred = learn.model(x).argmax(1).item()
    assert np.allclose(m, maps[pred], atol=1e-5)
    learn.model.train(); flags = [m.training for m in learn.model.modules()]
    with pytest.raises(ResnetFaError, match='Unknown class'): gradcam(learn, img, target='giraffe')
    for p in learn.model[:4].parameters(): p.requires_grad_(False)  # a frozen body, as in fine_tune's first stage
    try: assert np.allclose(gradcam(learn, img), m, atol=1e-5)
    finally:
        for p in learn.model.parameters(): p.requires_grad_(True)
    assert all(p.grad is None for p in learn.model.parameters())  # no gradients left behind
    assert [m.training for m in learn.model.modules()] == flags  # train/eval modes restored
    batch = gradcam_maps(learn.model, x.repeat(3, 1, 1, 1), targets=[0, 1, 2])
    assert batch.shape == (3, 32, 32) and np.allclose(batch[1], maps[1], atol=1e-5)

def test_gradcam_grid(learn, interp):
    fig = plot_gradcam_grid(learn, interp=interp, k=6)
    axes = [ax for ax in fig.axes if ax.images]
    wrong = int((interp.targs != interp.decoded).sum())
    assert len(axes) == min(6, wrong)
    assert all('true:' in ax.get_title() and 'pred:' in ax.get_title() for ax in axes)
    worst = interp.top_losses(1, misclassified=True)[1].item()
    true, pred = interp.vocab[interp.targs[worst]], interp.vocab[interp.decoded[worst]]
    assert axes[0].get_title().startswith(f'true: {true}\npred: {pred}')

def test_ten_crop_equals_center_crop_on_identity_like_case(dls, cifar5):
    "With resize == crop all five crops are the whole image, and a colour-only model ignores flips: 10-crop == centre."
    set_seed(0)
    colour = Learner(dls, nn.Sequential(nn.AdaptiveAvgPool2d(1), Flatten(), nn.Linear(3, 5)), metrics=accuracy)
    quiet_fit(colour, 3, 0.1, one_cycle=False)
    seen = []
    h = colour.model.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
    try: res = evaluate_protocols(colour, cifar5/'valid', protocols=('center', 'ten_crop'), crop=32, resize=32, bs=50)
    finally: h.remove()
    assert seen == ([50] + [50]*10)*2  # ten crops per image really ran, in passes of at most bs crops
    assert res.loc['center', 'top1'] == res.loc['ten_crop', 'top1'] > 0.2
    assert res.loc['center', 'top5'] == res.loc['ten_crop', 'top5'] == 1.0

def test_protocols_on_cifar(learn, cifar5, preds, tmp_path):
    res = evaluate_protocols(learn, cifar5/'valid', bs=50, tta_n=2)
    assert list(res.index) == ['center', 'ten_crop', 'multi_scale', 'tta']
    assert (res['n'] == 100).all() and (res.top5 >= res.top1).all() and (res.top1 > 0.2).all()
    # on whole 32 px images the centre protocol is fastai's own validation: same normalisation, same predictions
    whole = evaluate_protocols(learn, cifar5/'valid', protocols=('center',), resize=32, bs=50)
    probs, targs = preds
    assert whole.loc['center', 'top1'] == pytest.approx(float((probs.argmax(1) == targs).float().mean()))
    link(sorted((cifar5/'valid'/'frog').glob('*'))[:2], tmp_path/'dog')
    with pytest.raises(ResnetFaError, match='not classes of the learner'):
        evaluate_protocols(learn, tmp_path, protocols=('center',))
    with pytest.raises(ResnetFaError, match='Unknown protocols'):
        evaluate_protocols(learn, cifar5/'valid', protocols=('five_crop',))

def test_tta_leaves_the_learner_alone(dls, cifar5, tmp_path):
    "fastai's tta fires before_fit/after_fit: evaluate_protocols must not empty the history or truncate the CSV log."
    from fastai.callback.progress import CSVLogger
    learn = Learner(dls, tiny_resnet(5), metrics=accuracy, path=tmp_path, cbs=[CSVLogger(), MixUp()])
    quiet_fit(learn, 2, 1e-3, one_cycle=False)
    log, values = (tmp_path/'history.csv').read_text(), list(learn.recorder.values)
    assert len(values) == 2 and len(log.splitlines()) == 3
    res = evaluate_protocols(learn, cifar5/'valid', protocols=('tta',), tta_n=1)
    assert res.loc['tta', 'n'] == 100
    assert (tmp_path/'history.csv').read_text() == log and learn.recorder.values == values
    interpret(learn)
    assert learn.recorder.values == values

def test_multi_scale_handles_non_square_images(tmp_path):
    pets = sample_data('oxford-iiit-pet')
    if pets is None: pytest.skip('Oxford-IIIT Pet sample archive not available')
    for b in ['Abyssinian', 'Bengal', 'american_bulldog']:
        files = sorted((pets/'images').glob(f'{b}_*.jpg'), key=lambda o: int(o.stem.split('_')[-1]))
        link(files[:16], tmp_path/'train'/b); link(files[16:22], tmp_path/'valid'/b)
    sizes = {Image.open(f).size for f in (tmp_path/'valid').rglob('*.jpg')}
    assert any(w != h for w, h in sizes)
    set_seed(0)
    dls = ImageDataLoaders.from_folder(tmp_path, train='train', valid='valid', item_tfms=Resize(48), bs=16,
                                       num_workers=0)
    learn = quiet_fit(Learner(dls, tiny_resnet(3), metrics=accuracy), 1, 1e-2)
    shapes = []
    h = learn.model[0].register_forward_hook(lambda m, i, o: shapes.extend([tuple(i[0].shape[-2:])]*len(i[0])))
    try: res = evaluate_protocols(learn, tmp_path/'valid', protocols=('multi_scale',), sizes=(48, 64), bs=6)
    finally: h.remove()
    assert res.loc['multi_scale', 'n'] == 18
    assert len(shapes) == 18*2*2  # every image at two scales, and flipped
    assert any(a != b for a, b in shapes) and all(min(s) in (48, 64) for s in shapes)
    # a model that is not fully convolutional is refused with a clear message
    fixed = Learner(dls, nn.Sequential(Flatten(), nn.Linear(3*48*48, 3)))
    with pytest.raises(ResnetFaError, match='fully-convolutional'):
        evaluate_protocols(fixed, tmp_path/'valid', protocols=('multi_scale',), sizes=(48,), bs=6)

def test_tensorboard_report(dls, tmp_path):
    from fastai.callback.tensorboard import TensorBoardCallback
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    set_seed(0)
    learn = Learner(dls, tiny_resnet(5), metrics=accuracy,
                    cbs=[TensorBoardCallback(tmp_path, trace_model=False, log_preds=False), TensorBoardReport(k=4)])
    quiet_fit(learn, 1, 1e-3, one_cycle=False)
    n_values = len(learn.recorder.values)
    ea = EventAccumulator(str(tmp_path), size_guidance={'images': 0, 'tensors': 0}).Reload()
    assert sorted(ea.Tags()['images']) == ['interpretation/confusion_matrix', 'interpretation/gradcam']
    tensors = ea.Tags()['tensors']
    assert all(f'interpretation/pr_curve/{c}' in tensors for c in CLASSES)
    assert 'interpretation/per_class/text_summary' in tensors
    assert len(list(tmp_path.glob('events.out.tfevents*'))) == 1
    assert n_values == 1
    # the function form, into a folder of its own
    log_interpretation_to_tensorboard(learn, tmp_path/'again', k=2)
    ea = EventAccumulator(str(tmp_path/'again'), size_guidance={'images': 0}).Reload()
    assert 'interpretation/confusion_matrix' in ea.Tags()['images']

def test_report_without_gradcam(dls, tmp_path):
    "A model with no spatial feature map still gets its report and TensorBoard logs, without the Grad-CAM grid."
    from fastai.callback.tensorboard import TensorBoardCallback
    colour = Learner(dls, nn.Sequential(nn.AdaptiveAvgPool2d(1), Flatten(), nn.Linear(3, 5)),
                     cbs=[TensorBoardCallback(tmp_path/'tb', trace_model=False, log_preds=False), TensorBoardReport()])
    with pytest.warns(UserWarning, match='No Grad-CAM grid'): quiet_fit(colour, 1, 1e-2, one_cycle=False)
    with pytest.warns(UserWarning, match='No Grad-CAM grid'): paths = write_reports(colour, tmp_path/'run')
    assert 'gradcam_png' not in paths and paths['confusion_matrix_png'].is_file()

def test_multi_scale_memory_per_pass(learn, cifar5):
    "At large scales each forward pass holds fewer images: never more pixels than one batch of crops."
    seen = []
    h = learn.model.register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    try: evaluate_protocols(learn, cifar5/'valid', protocols=('multi_scale',), crop=32, sizes=(32, 96), bs=20)
    finally: h.remove()
    assert max(s[0]*s[2]*s[3] for s in seen) <= 20*32*32
    assert {s[0] for s in seen if s[-1] == 96} == {2}  # 20*32*32 // (96*96) = 2 images per pass at 96 px

def test_write_reports(learn, interp, tmp_path):
    paths = write_reports(learn, tmp_path/'run', interp=interp, k=4)
    expected = {'per_class_csv', 'per_class_md', 'summary_csv', 'summary_md', 'most_confused_csv', 'most_confused_md',
                'confusion_matrix_png', 'top_losses_png', 'gradcam_png'}
    assert set(paths) == expected and all(p.is_file() and p.parent == tmp_path/'run' for p in paths.values())
    for k in ('confusion_matrix_png', 'top_losses_png', 'gradcam_png'):
        w, h = Image.open(paths[k]).size
        assert w > 100 and h > 100
    back = pd.read_csv(paths['per_class_csv'], index_col=0)
    assert np.allclose(back['f1'].values, interp.per_class()['f1'].values)
    md = paths['per_class_md'].read_text().splitlines()
    assert md[0] == '| class | precision | recall | f1 | support |' and len(md) == 2 + 7
    summary = pd.read_csv(paths['summary_csv'], index_col=0)
    assert summary['top1'].item() == pytest.approx(interp.topk_accuracy(1))
    p = write_table(pd.DataFrame({'top1': [0.5]}, index=pd.Index(['center'], name='protocol')), tmp_path, 'eval')
    assert p['eval_md'].read_text() == '| protocol | top1 |\n|---|---:|\n| center | 0.5000 |\n'


def test_builds_on_fastai_classification_interpretation(interp, preds, capsys):
    "fastai's class and methods, on the stored predictions: no second pass over the data."
    from fastai.interpret import ClassificationInterpretation
    from sklearn.metrics import classification_report
    probs, targs = preds
    assert isinstance(interp, ClassificationInterpretation) and isinstance(interp, ResnetInterpretation)
    fig = interp.plot_confusion_matrix()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 25 and sum(map(int, texts)) == 100
    assert sorted(map(int, texts)) == sorted(interp.confusion_matrix().flatten().tolist())
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == CLASSES
    norm = interp.plot_confusion_matrix(normalize=True)
    assert all(float(t.get_text()) <= 1 for t in norm.axes[0].texts)
    calls = []
    h = interp.learn.model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    try:
        interp.print_classification_report()
        assert interp.most_confused() and all(type(n) is int for *_, n in interp.most_confused())
    finally: h.remove()
    assert not calls  # the stored predictions, not another pass
    report = classification_report(targs, probs.argmax(1), labels=range(5), target_names=CLASSES, zero_division=0)
    assert capsys.readouterr().out.strip() == report.strip()
    x, p, y, d, losses = interp[[3, 7]]  # fastai's indexing, without the learner's callbacks
    assert x.shape == (2, 3, 32, 32) and torch.allclose(p, probs[[3, 7]].as_subclass(torch.Tensor), atol=1e-5)
    assert y.tolist() == targs[[3, 7]].tolist() and d.tolist() == interp.decoded[[3, 7]].tolist()
    assert torch.equal(losses, interp.losses[[3, 7]])

def _png_16bit(path, value):
    Image.fromarray(np.full((32, 32), value, dtype=np.uint16)).save(path)
    assert Image.open(path).mode.startswith('I')

def _png_header_only(path, w, h):
    "A PNG whose header announces a `w` x `h` image (far beyond Pillow's decompression-bomb limit)."
    import struct, zlib
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                     + chunk(b'IDAT', zlib.compress(b'')) + chunk(b'IEND', b''))

@pytest.fixture(scope='module')
def odd_images(tmp_path_factory):
    "A class folder with a 16-bit grey PNG and a half-transparent RGBA PNG among ordinary CIFAR images."
    from resnet_fa.data import folder_dls
    src = sample_data('cifar10')
    if src is None: pytest.skip('CIFAR-10 sample data not available')
    root = tmp_path_factory.mktemp('odd')
    for split, (a, b) in (('train', (0, 8)), ('valid', (8, 12))):
        for c in ('frog', 'ship'):
            link(sorted((src/'train'/c).iterdir())[a:b], root/split/c)
    _png_16bit(root/'valid'/'frog'/'scan16.png', 33000)
    Image.new('RGBA', (32, 32), (0, 0, 255, 128)).save(root/'valid'/'ship'/'alpha.png')
    set_seed(0)
    dls = folder_dls(root, size=32, bs=8, valid='valid', num_workers=0)
    return root, Learner(dls, tiny_resnet(2))

def test_eval_decodes_as_training_does(odd_images):
    "A 16-bit scan and a transparent PNG reach the model with the same pixels in eval as in training's pipeline."
    root, learn = odd_images
    odd = [root/'valid'/'frog'/'scan16.png', root/'valid'/'ship'/'alpha.png']
    seen = []
    h = learn.model.register_forward_hook(lambda m, i, o: seen.append(i[0].detach().float().clone()))
    try: res = evaluate_protocols(learn, odd, protocols=('center',), crop=32, resize=32, quiet=True)
    finally: h.remove()
    assert res.loc['center', 'n'] == 2
    training = learn.dls.test_dl(odd, num_workers=0).one_batch()[0].as_subclass(torch.Tensor).float()
    assert torch.allclose(seen[0], training, atol=1e-5)
    mean, std = (torch.tensor(o).view(1, 3, 1, 1) for o in normalize_stats(learn.dls))
    pixels = (seen[0]*std + mean)*255
    assert torch.allclose(pixels[0], torch.full_like(pixels[0], 33000//256), atol=0.01)  # the top 8 bits, not white
    assert torch.allclose(pixels[1, :, 0, 0], torch.tensor([127., 127., 255.]), atol=1.01)  # composited on white

def test_eval_skips_and_names_unreadable_images(odd_images, tmp_path, monkeypatch):
    "A truncated JPEG and a 20000 x 20000 PNG are skipped with one warning naming them, as training skips them."
    from resnet_fa.data import BadImageWarning
    import resnet_fa.interpret as interp_mod
    root, learn = odd_images
    folder = tmp_path/'valid'
    for c in ('frog', 'ship'): link(sorted((root/'valid'/c).glob('*.jpg')), folder/c)
    good = sorted((root/'valid'/'frog').glob('*.jpg'))[0].read_bytes()
    (folder/'frog'/'truncated.jpg').write_bytes(good[:len(good)//2])
    _png_header_only(folder/'ship'/'huge.png', 20000, 20000)
    with pytest.warns(BadImageWarning) as w:
        res = evaluate_protocols(learn, folder, protocols=('center', 'tta'), crop=32, tta_n=1, quiet=True)
    msg = ' '.join(str(o.message) for o in w)
    assert 'truncated.jpg' in msg and 'huge.png' in msg and 'Skipped 2 unreadable' in msg
    assert (res['n'] == 8).all()
    # the same from a list of files
    files = sorted(folder.rglob('*.*'))
    with pytest.warns(BadImageWarning, match='Skipped 2 unreadable'):
        assert evaluate_protocols(learn, files, protocols=('center',), crop=32, quiet=True).loc['center', 'n'] == 8
    # a file that passed the check but fails to decode later (changed on disk) is skipped and named too
    monkeypatch.setattr(interp_mod, 'unreadable_images', lambda files: [])
    with pytest.warns(BadImageWarning, match='truncated.jpg'):
        res = evaluate_protocols(learn, files, protocols=('center', 'ten_crop', 'multi_scale', 'tta'), crop=32, tta_n=1,
                                 quiet=True)
    assert (res['n'] == 8).all()

def test_progress_bars_and_quiet(learn, cifar5, capsys):
    "Where output is not a terminal (as here) each long step is one line on stderr, no bar; `quiet` silences it."
    capsys.readouterr()
    evaluate_protocols(learn, cifar5/'valid', protocols=('center', 'ten_crop'), bs=50, quiet=True)
    interpret(learn, quiet=True)
    assert capsys.readouterr() == ('', '')
    interpret(learn)
    out, err = capsys.readouterr()
    assert out == '' and err.startswith('interpretation (') and err.endswith(' s\n') and err.count('\n') == 1, err

def test_inference_uses_the_learners_precision(dls, cifar5):
    "Eval and interpretation run under the autocast of the learner's mixed-precision callback, as get_preds does."
    from fastai.callback.channelslast import ChannelsLast
    from resnet_fa.callbacks import CPUMixedPrecision
    set_seed(0)
    learn = Learner(dls, tiny_resnet(5), cbs=[ChannelsLast(), CPUMixedPrecision()])
    modes = []
    h = learn.model.register_forward_hook(lambda m, i, o: modes.append(torch.is_autocast_enabled('cpu')))
    try:
        interpret(learn, quiet=True)
        evaluate_protocols(learn, cifar5/'valid', protocols=('center', 'tta'), bs=50, tta_n=1, quiet=True)
        tta_accuracies(learn)
        n = len(modes)
        tta_accuracies(learn, autocast=False)
    finally: h.remove()
    assert n > 0 and all(modes[:n]) and not any(modes[n:])
    assert next(learn.model.parameters()).is_contiguous(memory_format=torch.channels_last)
    plain = Learner(dls, tiny_resnet(5))
    seen = []
    h = plain.model.register_forward_hook(lambda m, i, o: seen.append(torch.is_autocast_enabled('cpu')))
    try: interpret(plain, quiet=True)
    finally: h.remove()
    assert seen and not any(seen)

def test_normalize_stats(dls, odd_images):
    "The statistics of the Normalize batch transform, read once for eval and for `resnet_fa serve`."
    from resnet_fa.data import FastNormalize
    assert normalize_stats(dls) == ([0.]*3, [1.]*3)  # fastai's from_folder without Normalize
    learn = odd_images[1]
    norm = next(t for t in learn.dls.after_batch.fs if isinstance(t, FastNormalize))
    mean, std = normalize_stats(learn.dls.valid)
    assert np.allclose(mean, norm.mean.flatten().tolist()) and np.allclose(std, norm.std.flatten().tolist())
    assert 0 < min(std) and mean != [0.]*3
