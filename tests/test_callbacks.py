"Each callback of `resnet_fa.callbacks` and its options, on a few hundred real CIFAR-10 images (seconds each)."
import json, warnings
from pathlib import Path
import numpy as np, pytest, torch
from torch import nn
import torch.nn.functional as F
from fastai.vision.all import (ImageDataLoaders, Learner, ConvLayer, Flip, accuracy, Callback,
                               CancelBatchException, CancelFitException)
from safetensors import safe_open
from resnet_fa.core import ResnetFaError, seed_everything, atomic_write
from resnet_fa.callbacks import *

@pytest.fixture(scope='module', autouse=True)
def one_thread():
    "One torch thread: deterministic, and kinder to a shared machine (restored for other test modules)."
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope='module')
def data(cifar_subset):
    "24 training and 8 validation CIFAR-10 images per class, linked into a temporary folder."
    return cifar_subset(24, 8)

def tiny_learner(data, run, seed=0, bs=32, **kwargs):
    seed_everything(seed)
    dls = ImageDataLoaders.from_folder(data, valid='valid', bs=bs, num_workers=0, batch_tfms=Flip())
    model = nn.Sequential(ConvLayer(3, 16, stride=2), ConvLayer(16, 32, stride=2), ConvLayer(32, 64, stride=2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, dls.c))
    return Learner(dls, model, metrics=accuracy, path=run, model_dir='.', **kwargs)

def fit_quiet(learn, fn='fit', *args, **kwargs):
    with learn.no_bar(), learn.no_logging(): getattr(learn, fn)(*args, **kwargs)
    return learn

def index(path): return json.loads(Path(path).read_text())

# ---- mixed precision ----------------------------------------------------------------------------

def test_cpu_mixed_precision_runs_bf16_and_returns_fp32(data, tmp_path):
    seen = []
    class Spy(Callback):
        order = 11
        def after_pred(self): seen.append((self.pred.dtype, self.model[0][0](self.xb[0]).dtype, torch.is_autocast_enabled('cpu')))
        def after_loss(self): seen.append(('loss', self.loss.dtype))
    learn = fit_quiet(tiny_learner(data, tmp_path, cbs=CPUMixedPrecision()), 'fit', 1, 1e-2, cbs=Spy())
    assert {s for s in seen if s[0] != 'loss'} == {(torch.float32, torch.bfloat16, True)}
    assert {s for s in seen if s[0] == 'loss'} == {('loss', torch.float32)}
    assert not torch.is_autocast_enabled('cpu')
    assert all(p.dtype == torch.float32 for p in learn.model.parameters())
    train_loss, valid_loss, acc = learn.recorder.values[-1]
    assert np.isfinite(train_loss) and np.isfinite(valid_loss) and 0 <= acc <= 1
    preds, targs = learn.get_preds()
    assert preds.dtype == torch.float32 and preds.shape == (80, 10)

def test_cpu_mixed_precision_learns_like_fp32(data, tmp_path):
    "bf16 autocast changes rounding, not what is learnt: both reach a lower loss than at the start."
    losses = {}
    for name,cbs in (('fp32', []), ('bf16', [CPUMixedPrecision()])):
        learn = tiny_learner(data, tmp_path, cbs=cbs)
        start = learn.validate()[0]
        fit_quiet(learn, 'fit_one_cycle', 3, 1e-2)
        losses[name] = (start, learn.recorder.values[-1][1])
    for start,end in losses.values(): assert end < start
    assert abs(losses['fp32'][1] - losses['bf16'][1]) < 0.15

def test_cpu_mixed_precision_closes_autocast_on_cancelled_batch(data, tmp_path):
    class CancelEveryOther(Callback):
        order = 11
        def after_pred(self):
            if self.iter % 2: raise CancelBatchException
    fit_quiet(tiny_learner(data, tmp_path, cbs=[CPUMixedPrecision(), CancelEveryOther()]), 'fit', 1, 1e-2)
    assert not torch.is_autocast_enabled('cpu')

def test_precision_cbs_choices():
    names = lambda cbs: [type(o).__name__ for o in cbs]
    assert names(precision_cbs('fp32', 'cpu')) == []
    assert names(precision_cbs('fp32', 'cpu', channels_last=True)) == ['ChannelsLast']
    assert names(precision_cbs('bf16', 'cpu')) == ['ChannelsLast', 'CPUMixedPrecision']
    assert names(precision_cbs('bf16', 'cpu', channels_last=False)) == ['CPUMixedPrecision']
    auto_cpu = ['ChannelsLast', 'CPUMixedPrecision'] if cpu_has_fast_bf16() else ['ChannelsLast']
    assert names(precision_cbs('auto', 'cpu')) == auto_cpu
    assert names(precision_cbs(device='cpu')) == auto_cpu
    assert names(precision_cbs('auto', 'cuda')) == ['ChannelsLast', 'MixedPrecision']
    assert names(precision_cbs('fp16', 'cuda', channels_last=False)) == ['MixedPrecision']
    assert precision_cbs('bf16', 'cuda')[-1].amp_mode.value == 'bf16'
    assert names(precision_cbs('auto', 'mps')) == [] and names(precision_cbs('fp32', 'mps')) == []
    for prec,dev,msg in (('fp16', 'cpu', 'not supported on a CPU'), ('bf16', 'mps', 'Apple MPS'), ('fp16', 'mps', 'Apple MPS'),
                         ('half', 'cpu', "Unknown precision 'half'")):
        with pytest.raises(ResnetFaError, match=msg): precision_cbs(prec, dev)

def test_precision_cbs_bf16_channels_last_trains(data, tmp_path):
    learn = fit_quiet(tiny_learner(data, tmp_path, cbs=precision_cbs('bf16', 'cpu')), 'fit', 1, 1e-2)
    assert learn.model[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert np.isfinite(learn.recorder.values[-1][1])
    assert learn.get_preds()[0].dtype == torch.float32

# ---- atomic writes and safetensors ----------------------------------------------------------------

def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    f = tmp_path/'sub'/'state.pth'
    atomic_torch_save({"w": torch.arange(3)}, f)
    def half_then_fail(fh): fh.write(b'x'*1000); raise OSError('disk full')
    with pytest.raises(OSError, match='disk full'): atomic_write(f, half_then_fail)
    assert torch.equal(torch.load(f)['w'], torch.arange(3))
    assert [p.name for p in f.parent.iterdir()] == ['state.pth']
    (f.parent/'.state.pth.abc.partial').write_bytes(b'left by a killed write')
    remove_partial_writes(f.parent)
    assert [p.name for p in f.parent.iterdir()] == ['state.pth']

class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)
        self.emb = nn.Embedding(10, 8)
        self.out = nn.Linear(8, 10, bias=False); self.out.weight = self.emb.weight

def test_safetensors_tied_and_channels_last(tmp_path):
    m = Tied().to(memory_format=torch.channels_last)
    with torch.no_grad(): m.bn.running_mean.uniform_()
    f = save_safetensors(m, tmp_path/'w.safetensors', vocab=['cat', 'dog'], arch='tied-net', metadata={'epoch': 2, 'acc': 0.5})
    with safe_open(f, 'pt') as fh:  # a plain safetensors reader sees one copy of the tied weight
        assert 'out.weight' not in fh.keys() and 'emb.weight' in fh.keys()
        assert fh.metadata()['format'] == 'pt' and json.loads(fh.metadata()['vocab']) == ['cat', 'dog']
    m2 = Tied()
    meta = load_safetensors(m2, f)
    assert meta['arch'] == 'tied-net' and meta['epoch'] == 2 and meta['acc'] == 0.5 and meta['vocab'] == ['cat', 'dog']
    assert safetensors_metadata(f) == meta
    for k,v in m.state_dict().items(): assert torch.equal(m2.state_dict()[k], v), k
    assert m2.out.weight is m2.emb.weight

def test_safetensors_errors(tmp_path):
    f = save_safetensors(Tied(), tmp_path/'w.safetensors')
    with pytest.raises(ResnetFaError, match='do not fit this Linear'): load_safetensors(nn.Linear(2, 2), f)
    with pytest.raises(ResnetFaError, match='No such weights file'): load_safetensors(Tied(), tmp_path/'none.safetensors')

def test_safetensors_from_learner(data, tmp_path):
    learn = fit_quiet(tiny_learner(data, tmp_path, cbs=precision_cbs('bf16', 'cpu')), 'fit', 1, 1e-2)
    f = save_safetensors(learn, tmp_path/'tiny.safetensors')
    fresh = tiny_learner(data, tmp_path, seed=1)
    meta = load_safetensors(fresh.model, f)
    assert meta['vocab'] == list(learn.dls.vocab) and meta['arch'] == 'Sequential'
    for k,v in learn.model.state_dict().items(): assert torch.equal(fresh.model.state_dict()[k], v), k
    learn.remove_cb(CPUMixedPrecision)  # compare both in fp32
    np.testing.assert_allclose(fresh.validate(), learn.validate(), rtol=1e-5)

# ---- top-k checkpoints ------------------------------------------------------------------------------

def test_topk_keeps_k_best_and_restores_best(data, tmp_path):
    learn = fit_quiet(tiny_learner(data, tmp_path), 'fit_one_cycle', 5, 1e-2, cbs=TopKCheckpoints(k=2))
    accs = [v[2] for v in learn.recorder.values]
    idx = index(tmp_path/'model_topk.json')
    assert idx['monitor'] == 'accuracy' and idx['mode'] == 'max' and idx['k'] == 2
    kept = idx['checkpoints']
    assert [e['value'] for e in kept] == pytest.approx(sorted(accs, reverse=True)[:2])
    for e in kept:
        assert e['value'] == pytest.approx(accs[e['epoch']])
        assert e['file'] == f"model_epoch{e['epoch']:03d}_accuracy{e['value']:.4f}.safetensors"
    assert sorted(p.name for p in tmp_path.glob('*.safetensors')) == sorted(e['file'] for e in kept)
    assert not list(tmp_path.glob('.*.partial'))
    assert learn.validate()[1] == pytest.approx(max(accs), abs=1e-6)

def test_topk_on_loss_and_without_restore(data, tmp_path):
    learn = tiny_learner(data, tmp_path)
    fit_quiet(learn, 'fit', 3, 1e-2, cbs=TopKCheckpoints(k=1, monitor='valid_loss', fname='m', restore_best=False))
    losses = [v[1] for v in learn.recorder.values]
    idx = index(tmp_path/'m_topk.json')
    assert idx['mode'] == 'min' and [e['value'] for e in idx['checkpoints']] == pytest.approx([min(losses)])
    assert learn.validate()[0] == pytest.approx(losses[-1], abs=1e-5)  # the last weights were kept in the model

def test_topk_carries_over_fits(data, tmp_path):
    "A second `fit` (as in `fine_tune`) numbers its epochs after the first, and competes with its checkpoints."
    learn, tk = tiny_learner(data, tmp_path), TopKCheckpoints(k=3, monitor='valid_loss')
    fit_quiet(learn, 'fit', 2, 1e-2, cbs=tk)
    first = [v[1] for v in learn.recorder.values]
    fit_quiet(learn, 'fit', 2, 1e-6, cbs=tk)  # a tiny learning rate: barely changes
    second = [v[1] for v in learn.recorder.values]
    kept = index(tmp_path/'model_topk.json')['checkpoints']
    assert [e['value'] for e in kept] == pytest.approx(sorted(first + second)[:3])
    assert {e['epoch'] for e in kept} <= {0, 1, 2, 3} and len({e['epoch'] for e in kept}) == 3
    assert learn.validate()[0] == pytest.approx(min(first + second), abs=1e-5)

def test_topk_replaces_earlier_run_and_ignores_lr_find(data, tmp_path):
    fit_quiet(tiny_learner(data, tmp_path), 'fit', 2, 1e-2, cbs=TopKCheckpoints(k=2))
    old = {e['file'] for e in index(tmp_path/'model_topk.json')['checkpoints']}
    learn = tiny_learner(data, tmp_path, seed=3, cbs=TopKCheckpoints(k=2))
    with learn.no_logging(): learn.lr_find(num_it=10, show_plot=False)
    assert {p.name for p in tmp_path.glob('*.safetensors')} == old  # lr_find wrote nothing
    (tmp_path/'model_epoch007_accuracy0.5000.safetensors').write_bytes(b'written just before a kill, not indexed')
    (tmp_path/'other.safetensors').write_bytes(b'not a checkpoint of this callback')
    with pytest.warns(UserWarning, match='Removing 3 checkpoints of an earlier run'): fit_quiet(learn, 'fit', 1, 1e-2)
    new = index(tmp_path/'model_topk.json')['checkpoints']
    assert len(new) == 1 and {p.name for p in tmp_path.glob('*.safetensors')} == {new[0]['file'], 'other.safetensors'}

def test_topk_bad_monitor(data, tmp_path):
    learn = tiny_learner(data, tmp_path)
    with pytest.raises(ResnetFaError) as e: fit_quiet(learn, 'fit', 1, cbs=TopKCheckpoints(monitor='f1'))
    assert str(e.value) == "TopKCheckpoints cannot monitor 'f1': the recorded values are train_loss, valid_loss, accuracy."

# ---- resume (in one process; tests/test_resume.py kills real processes) ------------------------------

class StopAfter(Callback):
    order = 99
    def __init__(self, epoch): self.stop = epoch
    def after_epoch(self):
        if self.epoch == self.stop: raise CancelFitException

def resumable_run(data, run, resume=False, stop=None, n=4, lr=1e-2, bs=32, precision='fp32'):
    learn = tiny_learner(data, run, bs=bs, cbs=[TopKCheckpoints(k=2), *precision_cbs(precision, 'cpu')])
    return fit_quiet(learn, 'fit_one_cycle', n, lr, cbs=[ResumeCheckpoint(resume=resume)] + ([StopAfter(stop)] if stop is not None else []))

@pytest.mark.parametrize('precision', ['fp32', 'bf16'])
def test_resume_matches_uninterrupted(data, tmp_path, precision):
    full = resumable_run(data, tmp_path/'full', precision=precision)
    resumable_run(data, tmp_path/'cut', stop=1, precision=precision)
    state = torch.load(tmp_path/'cut'/'resume.pth', weights_only=True)
    assert state['epoch'] == 1 and state['n_epoch'] == 4 and len(state['recorder']['values']) == 2
    info = resume_info(tmp_path/'cut')
    assert (info['epoch'], info['n_epoch'], info['done']) == (1, 4, False) and resume_info(tmp_path/'full'/'resume.pth')['done']
    assert resume_info(tmp_path/'nothing') is None
    (tmp_path/'cut'/'model_epoch003_accuracy0.9999.safetensors').write_bytes(b'written just before a kill, not indexed')
    resumed = resumable_run(data, tmp_path/'cut', resume=True, precision=precision)
    np.testing.assert_allclose(np.array(resumed.recorder.values), np.array(full.recorder.values), atol=1e-5)
    np.testing.assert_allclose(resumed.recorder.lrs, full.recorder.lrs)
    np.testing.assert_allclose(resumed.recorder.hps['mom'], full.recorder.hps['mom'])
    for (k,a),b in zip(resumed.model.state_dict().items(), full.model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5, msg=k)
    assert index(tmp_path/'cut'/'model_topk.json') == index(tmp_path/'full'/'model_topk.json')
    assert sorted(p.name for p in (tmp_path/'cut').glob('*.safetensors')) == sorted(p.name for p in (tmp_path/'full').glob('*.safetensors'))
    assert torch.load(tmp_path/'cut'/'resume.pth', weights_only=True)['epoch'] == 3

def test_resume_refuses_other_settings(data, tmp_path):
    resumable_run(data, tmp_path, stop=0)
    for kwargs,msg in ((dict(n=5), 'planned for 4 epochs, not 5'), (dict(lr=3e-2), 'another learning-rate schedule'),
                       (dict(bs=16), 'had 7 batches per epoch, not 15')):
        with pytest.raises(ResnetFaError, match=msg): resumable_run(data, tmp_path, resume=True, **kwargs)

def test_resume_without_state_starts_fresh_and_finished_run_is_kept(data, tmp_path):
    full = resumable_run(data, tmp_path, resume=True)  # nothing to resume: trains from epoch 0
    assert len(full.recorder.values) == 4
    again = resumable_run(data, tmp_path, resume=True)  # everything was done: nothing trained, history restored
    np.testing.assert_allclose(np.array(again.recorder.values), np.array(full.recorder.values))
    for a,b in zip(again.model.state_dict().values(), full.model.state_dict().values()): assert torch.equal(a, b)

# ---- NaN guard ---------------------------------------------------------------------------------------

class BadLossAt:
    "Cross-entropy that returns `value` at training batch `at` (counted over the fit), or on every validation batch."
    def __init__(self, at=None, value=float('nan'), valid=False): self.at,self.value,self.valid,self.n = at,value,valid,0
    def __call__(self, pred, targ):
        loss = F.cross_entropy(pred, targ)
        if not pred.requires_grad: return loss*self.value if self.valid else loss
        self.n += 1
        return loss*self.value if self.n == self.at else loss

def test_nan_guard_stops_keeps_best_and_says_so(data, tmp_path):
    learn = tiny_learner(data, tmp_path)
    n_iter = len(learn.dls.train)
    learn.loss_func = BadLossAt(at=2*n_iter+5)
    tk = TopKCheckpoints(k=2, monitor='valid_loss')
    with pytest.raises(ResnetFaError) as e: fit_quiet(learn, 'fit_one_cycle', 5, 1e-2, cbs=[tk, ResumeCheckpoint(), NaNGuard()])
    msg = str(e.value)
    best = index(tmp_path/'model_topk.json')['checkpoints'][0]
    assert msg == (f"Training stopped at epoch 2, batch 4: the training loss became nan. The best checkpoint (epoch {best['epoch']}, "
                   f"valid_loss {best['value']:.4f}) is kept in {tmp_path/best['file']} and loaded into the model; try a lower learning rate.")
    assert len(learn.recorder.values) == 2
    assert {e['epoch'] for e in index(tmp_path/'model_topk.json')['checkpoints']} == {0, 1}
    assert torch.load(tmp_path/'resume.pth', weights_only=True)['epoch'] == 1  # the resume state is the last good epoch
    assert all(torch.isfinite(p).all() for p in learn.model.parameters())
    assert learn.validate()[0] == pytest.approx(best['value'], abs=1e-5)

def test_nan_guard_inf_validation_and_no_raise(data, tmp_path):
    learn = tiny_learner(data, tmp_path, loss_func=BadLossAt(valid=True, value=float('inf')), cbs=NaNGuard(raise_error=False))
    fit_quiet(learn, 'fit', 2, 1e-2)
    assert learn.nonfinite_message == ("Training stopped at epoch 0, batch 0: the validation loss became inf. "
                                       "No checkpoint was kept; try a lower learning rate.")
    assert learn.recorder.values == []

def test_nan_guard_huge_lr_and_lr_find(data, tmp_path):
    learn = tiny_learner(data, tmp_path, cbs=NaNGuard())
    with pytest.raises(ResnetFaError, match=r'^Training stopped at epoch 0, batch \d+: the (training|validation) loss became (nan|inf)'):
        fit_quiet(learn, 'fit', 2, 1e6)
    learn = tiny_learner(data, tmp_path, cbs=NaNGuard())
    with learn.no_logging(): learn.lr_find(start_lr=1e-3, end_lr=1e8, num_it=30, stop_div=False, show_plot=False)
    assert learn.nonfinite_message is None
    fit_quiet(learn, 'fit', 1, 1e-3)  # and a normal fit afterwards is fine
    assert learn.nonfinite_message is None and np.isfinite(learn.recorder.values[-1][0])

# ---- whitened stem and BatchNorm-bias learning rate ------------------------------------------------

def whitened_learner(data, tmp_path, **kwargs):
    from fastai.vision.all import Normalize, cifar_stats
    from resnet_fa.learner import resnet_learner
    seed_everything(0)
    dls = ImageDataLoaders.from_folder(data, valid='valid', bs=64, num_workers=0, shuffle=False,
                                      batch_tfms=Normalize.from_stats(*cifar_stats))
    return resnet_learner(dls, 'whitened_resnet8', precision='fp32', path=tmp_path, opt='nesterov', **kwargs)

def test_whiten_stem_fits_from_training_batches_once(data, tmp_path):
    from resnet_fa.models import PatchWhitening, whitening_filters
    learn = whitened_learner(data, tmp_path)
    assert any(isinstance(cb, WhitenStem) for cb in learn.cbs)   # resnet_learner adds it for a whitened model
    stem = learn.model.stem[0]
    assert isinstance(stem, PatchWhitening) and not stem.fitted
    def no_peeking(*a, **k): raise AssertionError('the stem looked at validation images')
    learn.dls.valid.one_batch = no_peeking
    fit_quiet(learn, 'fit', 1, 0.05)
    assert stem.fitted
    # the loader is not shuffled, so the stem saw the first training batch: its filters are that batch's whitening
    # (compared as W^T W, which does not depend on the sign each eigenvector happens to get)
    x = learn.dls.train.one_batch()[0].as_subclass(torch.Tensor)
    gram = lambda w: w.flatten(1).T @ w.flatten(1)
    ours, ref = gram(stem.weight[:12]), gram(whitening_filters(x))
    assert (ours - ref).norm() < 1e-2 * ref.norm()   # float32 eigh on a badly conditioned covariance: not bit-equal
    with torch.no_grad(): out = F.conv2d(x, stem.weight[:12]).permute(1, 0, 2, 3).reshape(12, -1)
    cov = torch.cov(out)
    assert (cov - torch.diag(cov.diagonal())).abs().max() < 1e-3        # decorrelated...
    # ...each with variance lambda/(lambda+eps) for the patch covariance's eigenvalue lambda: 1 but for the faintest directions
    patches = F.unfold(x, 2).transpose(1, 2).reshape(-1, 12)
    lam = torch.linalg.eigvalsh(torch.cov(patches.T))
    assert torch.allclose(cov.diagonal().sort().values, (lam/(lam + 5e-4)).sort().values, atol=0.01)
    assert (cov.diagonal() > 0.99).sum() >= 6
    w = stem.weight.clone()
    fit_quiet(learn, 'fit', 1, 0.05)
    assert torch.equal(stem.weight, w)   # a second fit keeps the filters

def test_whitened_stem_survives_safetensors(data, tmp_path):
    from resnet_fa.models import whitened_resnet8
    learn = whitened_learner(data, tmp_path)
    fit_quiet(learn, 'fit', 1, 0.05)
    save_safetensors(learn, tmp_path/'w.safetensors')
    fresh = whitened_resnet8(n_out=10)
    load_safetensors(fresh, tmp_path/'w.safetensors')
    assert fresh.stem[0].fitted and torch.equal(fresh.stem[0].weight, learn.model.stem[0].weight.cpu())
    x = learn.dls.valid.one_batch()[0].as_subclass(torch.Tensor)
    with torch.no_grad(): assert torch.allclose(fresh.eval()(x), learn.model.eval()(x), atol=1e-5)

def test_norm_bias_lr_is_a_higher_lr_for_bn_biases_only(data, tmp_path):
    def first_step(mult):
        learn = whitened_learner(data, tmp_path, norm_bias_lr=mult)
        assert any(isinstance(cb, NormBiasLR) for cb in learn.cbs) == (mult != 1)
        learn.model.stem[0].fit(learn.dls.one_batch()[0].as_subclass(torch.Tensor))   # fitted the same way for both runs
        before = {n: p.detach().clone() for n, p in learn.model.named_parameters()}
        class OneStep(Callback):
            def after_step(self): raise CancelFitException
        fit_quiet(learn, 'fit', 1, 0.01, wd=0., cbs=OneStep())
        return {n: p.detach() - before[n] for n, p in learn.model.named_parameters()}
    plain, scaled = first_step(1.), first_step(64.)
    bn_biases = [n for n in plain if n.endswith('.bias') and n != 'stem.0.bias']
    assert bn_biases and all(torch.allclose(scaled[n], 64*plain[n], rtol=1e-3, atol=1e-7) for n in bn_biases)
    assert all(torch.allclose(scaled[n], plain[n], atol=1e-7) for n in plain if n not in bn_biases)

# ---- compiled training and one line per epoch --------------------------------------------------------

def test_torch_compile_falls_back_to_eager_when_the_backend_fails(data, tmp_path):
    "A backend that fails on the first batch: one warning line, the fit trains eagerly, the model stays plain."
    def broken_backend(gm, example_inputs): raise RuntimeError('no code generator here')
    learn = tiny_learner(data, tmp_path)
    tc = TorchCompile(backend=broken_backend)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        fit_quiet(learn, 'fit', 1, 1e-2, cbs=tc)
    msgs = [str(o.message) for o in w if 'Training uncompiled' in str(o.message)]
    assert len(msgs) == 1 and 'no code generator here' in msgs[0] and '\n' not in msgs[0]
    assert tc.fallback and learn.model._compiled_call_impl is None
    assert len(learn.recorder.values) == 1 and np.isfinite(learn.recorder.values[-1][1])

def test_epoch_table_replaces_bars_when_stdout_is_not_a_terminal(data, tmp_path, capsys):
    learn = tiny_learner(data, tmp_path)
    assert not is_terminal()                      # pytest captures stdout
    epoch_table(learn)
    assert [type(cb).__name__ for cb in learn.cbs if type(cb).__name__ in ('ProgressCallback', 'EpochTable')] == ['EpochTable']
    learn.fit(2, 1e-2)
    out = capsys.readouterr().out
    assert '\r' not in out and '█' not in out
    assert [l.split()[0] for l in out.splitlines()] == ['epoch', '0', '1']

def test_epoch_table_keeps_csv_logger_writing(data, tmp_path, capsys):
    "A CSVLogger added before `epoch_table` still gets every epoch (it wraps the logger `EpochTable` installs)."
    from fastai.callback.progress import CSVLogger
    learn = tiny_learner(data, tmp_path, cbs=CSVLogger('metrics.csv'))
    epoch_table(learn)
    learn.fit(2, 1e-2)
    rows = (tmp_path/'metrics.csv').read_text().splitlines()
    assert rows[0].startswith('epoch,train_loss,valid_loss,accuracy') and [r.split(',')[0] for r in rows[1:]] == ['0', '1']
    assert [l.split()[0] for l in capsys.readouterr().out.splitlines()] == ['epoch', '0', '1']
