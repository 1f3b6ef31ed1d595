"""`resnet_learner` as a superset of fastai's `vision_learner`, `Recipe` as the one carrier of options, `find_lr` and
compiled training, on the built-in digits (1,797 real 8x8 scans; seconds per test, the compile test longer)."""
import dataclasses, inspect
import pytest, torch
from torch import nn
from fastai.vision.all import (vision_learner, Learner, Normalize, CrossEntropyLossFlat, LabelSmoothingCrossEntropyFlat,
                               Adam, SGD, SigmoidRange, AdaptiveConcatPool2d, ImageDataLoaders, Resize, imagenet_stats,
                               trainable_params, accuracy, defaults)
from resnet_fa.core import ResnetFaError, seed_everything
from resnet_fa.learner import (resnet_learner, Recipe, get_recipe, learner_from_recipe, recipe_learner_args, find_lr,
                               RECIPES, check_settings, sgd, nesterov, adamw)
from resnet_fa.callbacks import TorchCompile
from resnet_fa.data import get_dls
import resnet_fa.models

@pytest.fixture(scope='module', autouse=True)
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope='module')
def dls(): return get_dls('digits', size=16, bs=64)

def fit_quiet(learn, *args, **kwargs):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(*args, **kwargs)
    return learn

# ---- every vision_learner / Learner argument --------------------------------------------------------

def test_every_vision_learner_argument_is_accepted():
    ours = inspect.signature(resnet_learner).parameters
    for fn in (vision_learner, Learner.__init__):
        missing = [p for p in inspect.signature(fn).parameters if p not in ours and p not in ('self', 'model', 'kwargs')]
        assert not missing, f"{fn.__name__} arguments resnet_learner lacks: {missing}"

def test_fastai_learner_arguments_keep_their_meaning(dls, tmp_path):
    loss = CrossEntropyLossFlat()
    split = lambda m: [trainable_params(m)]
    learn = resnet_learner(dls, 'resnet20', loss_func=loss, opt_func=Adam, lr=3e-3, splitter=split, metrics=accuracy,
                           path=tmp_path, model_dir='ck', wd=0.02, wd_bn_bias=True, train_bn=False, moms=(0.9, 0.8, 0.9))
    assert learn.loss_func is loss and learn.opt_func is Adam and learn.lr == 3e-3 and learn.splitter is split
    assert [m.name for m in learn.metrics] == ['accuracy'] and learn.path == tmp_path and learn.model_dir == 'ck'
    assert (learn.wd, learn.wd_bn_bias, learn.train_bn, learn.moms) == (0.02, True, False, (0.9, 0.8, 0.9))
    learn.create_opt()
    assert len(learn.opt.param_groups) == 1   # the splitter was used

def test_default_lr_follows_the_optimizer(dls):
    assert resnet_learner(dls, 'resnet20').lr == 0.1
    assert resnet_learner(dls, 'resnet20', opt='nesterov').lr == 0.1
    assert resnet_learner(dls, 'resnet20', opt_func=SGD).lr == 0.1
    assert resnet_learner(dls, 'resnet20', opt='adamw').lr == defaults.lr
    assert resnet_learner(dls, 'resnet20', opt_func=Adam).lr == defaults.lr

def test_default_fit_one_cycle_trains(dls):
    "fastai's `fit_one_cycle(n)` with no lr: resnet_fa's default SGD at its default lr learns (chance is 0.1)."
    seed_everything(0)
    learn = fit_quiet(resnet_learner(dls, 'resnet20', precision='fp32'), 4)
    assert learn.recorder.values[-1][2] > 0.85

def test_conflicting_shorthands_are_one_line_errors(dls):
    with pytest.raises(ResnetFaError, match=r'^Pass opt or opt_func, not both'): resnet_learner(dls, opt='sgd', opt_func=Adam)
    with pytest.raises(ResnetFaError, match=r'^Pass label_smoothing or loss_func, not both'):
        resnet_learner(dls, label_smoothing=0.1, loss_func=CrossEntropyLossFlat())
    ls = resnet_learner(dls, label_smoothing=0.1).loss_func
    assert isinstance(ls, LabelSmoothingCrossEntropyFlat) and ls.func.eps == 0.1
    assert resnet_learner(dls, opt='nesterov').opt_func is nesterov

@pytest.mark.parametrize('kwargs,msg', [
    (dict(lr=-0.1), 'lr must be a number above 0, not -0.1.'), (dict(lr=0), 'lr must be'),
    (dict(label_smoothing=1), 'label_smoothing must be'), (dict(mixup=-1), 'mixup must be'),
    (dict(wd=-1e-4), 'wd must be'), (dict(keep_best=-1), 'keep_best must be'), (dict(n_out=0), 'n_out must be'),
    (dict(norm_bias_lr=0), 'norm_bias_lr must be')])
def test_resnet_learner_refuses_bad_numbers(dls, kwargs, msg):
    with pytest.raises(ResnetFaError, match=msg.replace('.', r'\.')): resnet_learner(dls, **kwargs)

def test_fastai_head_arguments_build_fastais_head(dls):
    learn = resnet_learner(dls, 'resnet20', concat_pool=True, lin_ftrs=[32], ps=0.25, y_range=(-3, 3))
    body, head = learn.model
    assert isinstance(head[0], AdaptiveConcatPool2d) and isinstance(head[-1], SigmoidRange)
    assert [m.out_features for m in head.modules() if isinstance(m, nn.Linear)] == [32, 10]
    x, _ = dls.one_batch()
    out = learn.model.eval()(x.cpu().as_subclass(torch.Tensor))
    assert out.shape == (len(x), 10) and out.min() >= -3 and out.max() <= 3
    learn.create_opt()
    assert len(learn.opt.param_groups) == 3   # resnet_fa's split of body stages and the new head
    custom = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    assert resnet_learner(dls, 'resnet20', custom_head=custom).model[1] is custom
    # without head arguments the paper's model is used whole
    assert isinstance(resnet_learner(dls, 'resnet20').model, resnet_fa.models.CifarResNet)

def test_n_in_and_torchvision_functions(dls):
    learn = resnet_learner(dls, 'resnet20', n_in=1)
    assert next(m for m in learn.model.modules() if isinstance(m, nn.Conv2d)).in_channels == 1
    import torchvision
    tv = resnet_learner(dls, torchvision.models.resnet18)   # fastai's `resnet18`: no n_out, fastai's body and head
    assert tv.model[-1][-1].out_features == 10 and not tv.pretrained
    with pytest.raises(ResnetFaError, match='not an option of resnet_learner'): resnet_learner(dls, 'resnet20', foo=1)

def test_pretrained_adds_the_weights_statistics_to_a_plain_fastai_dls(dls, tmp_path):
    "As vision_learner: a dls without Normalize gets the weights' statistics (here a local torchvision-format file)."
    import torchvision
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path/'resnet18.pth')
    items = [dls.train_ds.items[i] for i in range(40)] + [dls.valid_ds.items[i] for i in range(20)]
    plain_dls = lambda: ImageDataLoaders.from_path_func(dls.path, items, lambda p: p.parent.name, valid_pct=0.3, seed=0,
                                                        item_tfms=Resize(32), bs=16, num_workers=0)
    plain = plain_dls()
    assert not plain.after_batch.fs.filter(lambda t: isinstance(t, Normalize))
    learn = resnet_learner(plain, 'resnet18', pretrained=str(tmp_path/'resnet18.pth'))
    # resnet_fa's own DataLoaders normalise already: nothing is added to them
    n_before = len(dls.after_batch.fs)
    resnet_learner(dls, 'resnet18', pretrained=str(tmp_path/'resnet18.pth'))
    assert len(dls.after_batch.fs) == n_before
    norms = plain.after_batch.fs.filter(lambda t: isinstance(t, Normalize))
    assert len(norms) == 1
    assert torch.allclose(norms[0].mean.flatten().cpu(), torch.tensor(imagenet_stats[0]), atol=1e-6)
    assert learn.pretrained and not any(p.requires_grad for p in learn.model[0][0].parameters())   # frozen stem
    fresh = plain_dls()
    resnet_learner(fresh, 'resnet18', pretrained=str(tmp_path/'resnet18.pth'), normalize=False)
    assert not fresh.after_batch.fs.filter(lambda t: isinstance(t, Normalize))

# ---- Recipe: the one carrier of options -------------------------------------------------------------

def test_recipe_fields_reach_resnet_learner_by_name(dls):
    r = get_recipe('digits').replace(label_smoothing=0.2, mixup=0.3, opt='nesterov', lr=0.05, norm_bias_lr=4.)
    args = recipe_learner_args(r)
    assert {'label_smoothing', 'mixup', 'opt', 'lr', 'wd', 'norm_bias_lr', 'compile', 'arch'} <= set(args)
    assert 'epochs' not in args and 'schedule' not in args
    learn = learner_from_recipe(dls, r)
    assert learn.loss_func.func.eps == 0.2 and learn.opt_func is nesterov and learn.lr == 0.05
    assert {type(cb).__name__ for cb in learn.cbs} >= {'MixUp', 'NormBiasLR'}
    # a fastai argument given by the caller replaces the recipe's shorthand for it
    assert learner_from_recipe(dls, r, opt_func=Adam).opt_func is Adam
    assert isinstance(learner_from_recipe(dls, r, loss_func=CrossEntropyLossFlat()).loss_func, CrossEntropyLossFlat)

@pytest.mark.parametrize('kwargs,msg', [
    (dict(epochs=0), 'epochs must be an integer at least 1, not 0'), (dict(epochs=-1), 'epochs must be'),
    (dict(lr=-0.1), 'lr must be a number above 0'), (dict(label_smoothing=2), 'label_smoothing must be'),
    (dict(bs=0), 'bs must be'), (dict(bs=-8), 'bs must be'), (dict(size=0), 'size must be'), (dict(size=-5), 'size must be'),
    (dict(mixup=-0.1), 'mixup must be'), (dict(wd=-1), 'wd must be'), (dict(pct_start=1.5), 'pct_start must be'),
    (dict(iterations=-5), 'iterations must be'), (dict(schedule='cosine'), "Unknown schedule 'cosine'"),
    (dict(opt='nestrov'), "Did you mean 'nesterov'"), (dict(milestones=(0.75, 0.5)), 'milestones must be increasing')])
def test_recipe_refuses_bad_settings(kwargs, msg):
    with pytest.raises(ResnetFaError, match=msg): get_recipe('digits').replace(**kwargs)
    with pytest.raises(ResnetFaError, match=msg): Recipe('mine', **kwargs)

def test_recipe_fields_each_have_one_comment_and_notes_carry_no_measurements():
    src = inspect.getsource(Recipe)
    for f in dataclasses.fields(Recipe):
        line = next(l for l in src.splitlines() if l.strip().startswith(f'{f.name}:'))
        assert '#' in line, f"Recipe.{f.name} has no help comment"
    import re
    for r in RECIPES.values():
        # measured accuracies (with decimals), durations and hardware; a 10% hold-out is a setting
        assert not re.search(r'\d+\.\d+\s*%|\d\s*(min|s|h)\b|minute|\bcores?\b|Xeon|AMX|Zen', r.notes), (r.name, r.notes)

def test_check_settings_ignores_unknown_and_none():
    check_settings(lr=None, size=None, something=-1)
    with pytest.raises(ResnetFaError, match='bs must be an integer'): check_settings(bs=True)

# ---- find_lr --------------------------------------------------------------------------------------

def test_find_lr_returns_fastais_suggested_lrs(dls, tmp_path):
    learn = resnet_learner(dls, 'resnet20')
    sugg = find_lr(learn, num_it=30, fname=tmp_path/'lr.png')
    assert type(sugg).__name__ == 'SuggestedLRs' and 'valley' in sugg._fields
    assert 1e-7 < sugg.valley < 10 and sugg[0] == sugg.valley
    assert (tmp_path/'lr.png').stat().st_size > 0
    fastai_own = learn.lr_find(num_it=30, show_plot=False)   # left untouched
    assert type(fastai_own).__name__ == 'SuggestedLRs' and fastai_own._fields == ('valley',)

# ---- compiled training ------------------------------------------------------------------------------

def test_compiled_training_on_cpu_matches_eager(dls):
    "A ResNet-20 compiled with inductor (gcc) for two short epochs: trains, predicts as eager, saves clean keys."
    seed_everything(0)
    learn = resnet_learner(dls, 'resnet20', precision='fp32', compile=True)
    tc = next(cb for cb in learn.cbs if isinstance(cb, TorchCompile))
    with learn.no_bar(): learn.fit_one_cycle(2)   # one epoch leaves BatchNorm statistics unsettled at lr 0.1
    assert tc.compiled and tc.fallback is None, tc.fallback
    assert tc.compile_time > 1          # seconds spent compiling, measured apart from training
    assert learn.model._compiled_call_impl is None   # a plain module after the fit
    assert not any(k.startswith('_orig_mod') for k in learn.model.state_dict())
    assert learn.recorder.values[-1][2] > 0.5        # it learnt (chance: 0.1)
    # the compiled model and the eager model give the same predictions on the same weights
    x, _ = dls.valid.one_batch()
    x = x.as_subclass(torch.Tensor)
    learn.model.eval()
    with torch.no_grad():
        eager = learn.model(x)
        compiled = torch.compile(learn.model)(x)
    torch.testing.assert_close(compiled, eager, atol=1e-4, rtol=1e-4)
