"""Every registered model in every tool: shapes, gradients, memory format, bf16, summary, FLOPs, export, weights files.
The checks against the papers, torchvision and timm (parameters, MACs, state_dicts) live in nbs/01_models.ipynb."""
import copy, functools, os
import pytest, timm, torch, torch.nn as nn, torchvision
from fastai.vision.learner import model_meta
from resnet_fa.core import ResnetFaError
from resnet_fa.models import *

@pytest.fixture(autouse=True, scope='module')
def one_thread():
    "One torch thread: these are many small ops, and spinning OpenMP threads on a shared CPU cost far more than they gain."
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def n_params(m): return sum(p.numel() for p in m.parameters())

@functools.lru_cache(maxsize=None)
def model(name): torch.manual_seed(0); return create_model(name, n_out=10)

def check_size(name):
    "Input size for the forward checks: the natural size for the CIFAR nets and ResNet-9, 64 px for the ImageNet ones (fast)."
    return min(default_size(name), 64)

@pytest.mark.parametrize('name', list_models(family='imagenet'))
def test_imagenet_output_at_natural_size(name):
    "The ImageNet nets on a batch of two 224 px images (the CIFAR nets and ResNet-9 get theirs in test_forward_backward)."
    with torch.no_grad(): assert model(name).eval()(torch.randn(2, 3, 224, 224)).shape == (2, 10)

# The paper's table 6 (option A shortcuts), in millions, and torchvision's parameter counts.
PAPER_CIFAR = {'resnet20': 0.27, 'resnet32': 0.46, 'resnet44': 0.66, 'resnet56': 0.85, 'resnet110': 1.7, 'resnet1202': 19.4}
TV_DEPTHS = [18, 34, 50, 101, 152]

def test_registry_lists_every_family():
    assert set(list_models(family='cifar')) >= set(PAPER_CIFAR) | {'plain20', 'plain56'}
    assert list_models('resnet*', family='imagenet') == sorted([f'resnet{d}' for d in TV_DEPTHS] + [f'resnet{d}d' for d in TV_DEPTHS])
    assert list_models('preact_*') == sorted(f'preact_resnet{d}' for d in TV_DEPTHS)
    assert list_models(family='resnet9') == ['airbench_resnet8', 'resnet9', 'resnet9_half', 'whitened_resnet8']
    for name in list_models(): assert model_family(name) in ('cifar', 'imagenet', 'resnet9')

@pytest.mark.parametrize('name', list_models())
def test_forward_backward(name):
    "Output shape at the natural size, gradients reaching every parameter, channels_last and bf16 autocast forward passes."
    m = model(name).train()
    torch.manual_seed(1)
    x = torch.randn(2, 3, check_size(name), check_size(name))
    m.zero_grad()
    out = m(x)
    assert out.shape == (2, 10)
    out.logsumexp(1).sum().backward()
    for pname,p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f'no gradient reaches {pname}'
    # Compared in eval mode, where each image goes through on its own: in train mode BN normalises over two images,
    # which turns rounding differences into large ones (the deep plain nets most of all)
    m.eval()
    xc = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        ref = m(x)
        m.to(memory_format=torch.channels_last)
        try:
            cl = m(xc)
            with torch.autocast('cpu', dtype=torch.bfloat16): bf = m(xc)
        finally: m.to(memory_format=torch.contiguous_format)
    assert torch.isfinite(ref).all() and (cl - ref).norm() / ref.norm() < 1e-4
    assert bf.dtype == torch.bfloat16 and bf.shape == (2, 10) and torch.isfinite(bf).all()
    # bf16 keeps about 3 significant digits: the same function, not exactly the same numbers
    assert torch.nn.functional.cosine_similarity(bf.float().flatten(), ref.flatten(), 0) > 0.98

@pytest.mark.parametrize('name', list_models())
def test_every_tool(name, tmp_path):
    """Each registered model in each tool: summary at its natural size, forward+backward FLOPs counted, and export
    (a pickled module and a safetensors state_dict) giving the same outputs. ImageNet nets at 64 px to stay fast."""
    from torch.utils.flop_counter import FlopCounterMode
    from safetensors.torch import save_file, load_file
    m, size = copy.deepcopy(model(name)), check_size(name)
    x = torch.randn(2, 3, size, size)
    for bn in m.modules():   # running statistics of a real batch: at their initial values resnet1202 overflows in eval
        if isinstance(bn, nn.BatchNorm2d): bn.reset_running_stats(); bn.momentum = None
    with torch.no_grad(): m.train()(x)
    m.eval()
    s = model_summary(m, None if size == default_size(name) else size)
    assert s.loc['total', 'params'] == n_params(m) and s.loc['total', 'MACs'] > 0
    assert s.output.iloc[-2] == '10' and s.receptive_field.is_monotonic_increasing
    with FlopCounterMode(display=False) as fwd, torch.no_grad(): ref = m(x)
    assert torch.isfinite(ref).all()
    assert fwd.get_total_flops() == 2 * 2 * s.loc['total', 'MACs']   # 2 images, 2 FLOPs a multiply-add
    trained = copy.deepcopy(m).train()   # a copy: a training step moves BN's running statistics
    with FlopCounterMode(display=False) as both: trained(x).sum().backward()
    assert 2 < both.get_total_flops() / fwd.get_total_flops() <= 3   # backward: about twice the forward's
    torch.save(m, tmp_path/'m.pth')
    with torch.no_grad(): torch.testing.assert_close(torch.load(tmp_path/'m.pth', weights_only=False)(x), ref)
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    save_file(sd, str(tmp_path/'m.safetensors'))
    fresh = create_model(name, n_out=10, pretrained=str(tmp_path/'m.safetensors')).eval()
    with torch.no_grad(): torch.testing.assert_close(fresh(x), ref)

@pytest.mark.skipif(not torch._dynamo.is_dynamo_supported(), reason='torch.compile is not supported on this Python')
def test_compile_one_small_model():
    "torch.compile (inductor, the system C++ compiler) on one small model, without graph breaks: compiling all is too slow."
    import torch._dynamo
    m = model('resnet20').eval()
    x = torch.randn(2, 3, 32, 32)
    torch._dynamo.reset()
    explain = torch._dynamo.explain(m)(x)
    assert explain.graph_break_count == 0, explain.break_reasons
    with torch.no_grad(): torch.testing.assert_close(torch.compile(m)(x), m(x), rtol=1e-4, atol=1e-4)

def test_cifar_option_a_has_no_shortcut_weights():
    m = resnet20(shortcut='A')
    assert not any('downsample' in k for k in m.state_dict())
    assert sum(isinstance(b.downsample, PadShortcut) for b in m.modules() if isinstance(b, BasicBlock)) == 2

def test_variants():
    assert resnet50(stride_in_1x1=True).layer2[0].conv1.stride == (2, 2)
    assert resnet50().layer2[0].conv2.stride == (2, 2)
    c = resnet50(variant='C')
    assert isinstance(c.conv1, nn.Sequential) and [l.out_channels for l in c.conv1 if isinstance(l, nn.Conv2d)] == [32, 32, 64]
    assert isinstance(resnet50(variant='D').layer2[0].downsample[0], nn.AvgPool2d)
    z = resnet50(zero_init_residual=True)
    assert all(b.bn3.weight.abs().sum() == 0 for b in z.modules() if isinstance(b, Bottleneck))
    conv = resnet18().conv1.weight
    assert abs(conv.std().item() - (2 / (64*7*7))**0.5) < 0.002  # He (fan-out) initialisation
    with pytest.raises(ResnetFaError, match='bottleneck'): resnet18(stride_in_1x1=True)
    with pytest.raises(ResnetFaError, match="variant"): resnet18(variant='E')
    with pytest.raises(ResnetFaError, match='6n\\+2'): cifar_resnet(21)

def test_leaderboard_options_train_in_channels_last(tmp_path):
    "resnet50d with SiLU and self-attention: gradients everywhere once gamma moves, channels_last kept, bf16, pickles."
    torch.manual_seed(0)
    m = resnet50d(n_out=10, act_cls='silu', sa=True, zero_init_residual=True).train()
    sa = m.layer1[-1].sa
    assert isinstance(sa, SimpleSelfAttention2d) and sa.gamma.item() == 0
    with torch.no_grad():
        sa.gamma.fill_(0.1)   # at 0 the projection gets no gradient yet: the layer starts as the identity
        for mod in m.modules():
            if isinstance(mod, Bottleneck): mod.bn3.weight.fill_(0.5)   # and the zero-initialised branches none either
    m.to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = m.layer1(m.maxpool(m.relu(m.bn1(m.conv1(x)))))
        out = m(x)
    assert feats.is_contiguous(memory_format=torch.channels_last)   # the attention layer hands channels_last on
    out.float().logsumexp(1).sum().backward()
    for pname, p in m.named_parameters(): assert p.grad is not None and p.grad.abs().sum() > 0, pname
    torch.save(m, tmp_path/'m.pth')
    assert isinstance(torch.load(tmp_path/'m.pth', weights_only=False).layer1[-1].sa, SimpleSelfAttention2d)

def test_n_in_and_n_out():
    assert resnet20(n_in=1)(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    assert create_model('resnet18', n_out=3, n_in=4)(torch.randn(2, 4, 64, 64)).shape == (2, 3)
    assert resnet9(n_out=100, n_in=1)(torch.randn(2, 1, 32, 32)).shape == (2, 100)

def test_create_model_names_and_timm():
    assert isinstance(create_model('resnet56', n_out=10), CifarResNet)
    assert isinstance(create_model('resnet50d'), ResNet)                     # resnet_fa's name wins...
    assert type(create_model('timm/resnet50d')).__module__.startswith('timm')  # ...timm's stays reachable
    assert type(create_model('resnet50d', source='timm')).__module__.startswith('timm')
    t = create_model('resnet26d', n_out=7, n_in=1)                           # only timm has it
    assert t(torch.randn(2, 1, 64, 64)).shape == (2, 7)
    assert model_family('resnet26d') == 'timm' and default_size('resnet26d') == 224
    with pytest.raises(ResnetFaError, match="'resnet50'"): create_model('resnet5O')
    with pytest.raises(ResnetFaError, match='Unknown model'): create_model('nothing_like_it')
    with pytest.raises(ResnetFaError, match='Unknown model'): create_model('resnet26d', source='resnet_fa')

def test_pretrained_files(tmp_path):
    from safetensors.torch import save_file
    tv = torchvision.models.resnet34(weights=None)
    torch.save(tv.state_dict(), tmp_path/'r34.pth')
    save_file(tv.state_dict(), str(tmp_path/'r34.safetensors'))
    torch.save({'model': tv.state_dict(), 'opt': {}}, tmp_path/'r34_fastai.pth')
    for f in ('r34.pth', 'r34.safetensors', 'r34_fastai.pth'):
        m = create_model('resnet34', pretrained=str(tmp_path/f))
        assert torch.equal(m.fc.weight, tv.fc.weight) and torch.equal(m.layer3[2].conv1.weight, tv.layer3[2].conv1.weight)
    m = resnet34(n_out=5, pretrained=tmp_path/'r34.pth')      # all but the head
    assert m.fc.weight.shape == (5, 512) and torch.equal(m.conv1.weight, tv.conv1.weight)
    grey = resnet34(n_in=1, pretrained=tmp_path/'r34.pth')   # first conv adapted: same response to a grey image
    x = torch.rand(1, 1, 32, 32)
    torch.testing.assert_close(grey.conv1(x), tv.conv1(x.expand(1, 3, 32, 32)))
    with pytest.raises(ResnetFaError, match='do not fit'): resnet18(pretrained=tmp_path/'r34.pth')
    with pytest.raises(ResnetFaError, match='No such weights file'): resnet18(pretrained=tmp_path/'missing.pth')
    torch.save(resnet20().state_dict(), tmp_path/'r20.pth')
    assert torch.equal(resnet20(pretrained=tmp_path/'r20.pth').fc.weight, torch.load(tmp_path/'r20.pth')['fc.weight'])
    # torchvision's weights= argument is understood too (a path, or 'DEFAULT' for the published weights)
    assert torch.equal(resnet20(weights=str(tmp_path/'r20.pth')).fc.weight, torch.load(tmp_path/'r20.pth')['fc.weight'])
    assert torch.equal(resnet34(weights=str(tmp_path/'r34.pth')).fc.weight, tv.fc.weight)
    with pytest.raises(ResnetFaError, match='no published weights for plain20'): plain20(weights='DEFAULT')

def test_pretrained_download_failure_says_what_to_do(tmp_path, monkeypatch):
    "There is no internet in CI: pretrained=True must fail with a sentence pointing to local files."
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    def offline(*a, **k): raise OSError('offline')
    monkeypatch.setattr(torchvision.models._api, 'load_state_dict_from_url', offline)
    with pytest.raises(ResnetFaError, match=r"pretrained='/path/to/resnet18.pth'"): create_model('resnet18', pretrained=True)
    with pytest.raises(ResnetFaError, match='no published weights'): create_model('resnet20', pretrained=True)
    with pytest.raises(ResnetFaError, match='no published weights'): create_model('preact_resnet50', pretrained=True)

def test_splitters():
    for name in ('resnet20', 'resnet50', 'preact_resnet18', 'resnet9', 'resnet18d', 'whitened_resnet8'):
        m = model(name)
        groups = splitter_for(m)(m)
        assert len(groups) == 3 and sum(map(len, groups)) == len(list(m.parameters())), name
        assert any(p is m.fc.weight for p in groups[2]) and len(groups[2]) == len(list(m.fc.parameters()))
    t = timm.create_model('resnet26d', num_classes=3)
    assert [len(g) for g in resnet_split(t)][2] == 2
    mob = timm.create_model('mobilenetv3_small_050', num_classes=3)
    groups = splitter_for(mob)(mob)
    assert groups[1] == list(mob.get_classifier().parameters())
    with pytest.raises(ResnetFaError, match='No splitter'): splitter_for(nn.Linear(2, 2))

def test_fastai_model_meta_registered():
    for name in list_models():
        fn = create_model.__globals__[name]
        assert model_meta[fn]['cut'] == -2 and model_meta[fn]['split'] is resnet_split

def test_vision_learner_with_local_weights(tmp_path):
    "vision_learner(dls, resnet18, pretrained=<file>): loads the file, cuts at -2, freezes all but the head."
    from fastai.vision.all import vision_learner, DataLoaders, CrossEntropyLossFlat
    tv = torchvision.models.resnet18(weights=None)
    torch.save(tv.state_dict(), tmp_path/'r18.pth')
    ds = [(torch.rand(3, 32, 32), torch.tensor(i % 3)) for i in range(8)]
    dls = DataLoaders.from_dsets(ds[:4], ds[4:], bs=2, device='cpu')
    learn = vision_learner(dls, resnet18, pretrained=str(tmp_path/'r18.pth'), n_out=3, loss_func=CrossEntropyLossFlat(), normalize=False)
    assert torch.equal(learn.model[0][0].weight, tv.conv1.weight)
    assert len(learn.opt.param_groups) == 3
    assert not learn.model[0][0].weight.requires_grad and learn.model[1][-1].weight.requires_grad
    learn.unfreeze()
    assert all(p.requires_grad for p in learn.model.parameters())

def test_timm_model_from_local_file(tmp_path):
    "timm's models take a local weights file through the same pretrained= argument (no hub download)."
    t = timm.create_model('resnet26d', pretrained=False)
    torch.save(t.state_dict(), tmp_path/'r26d.pth')
    m = create_model('resnet26d', n_out=5, pretrained=str(tmp_path/'r26d.pth'))
    assert torch.equal(m.conv1[0].weight, t.conv1[0].weight) and m.fc.weight.shape == (5, 2048)
    with pytest.raises(ResnetFaError, match='No such weights file'): create_model('resnet26d', pretrained=str(tmp_path/'nope.pth'))
