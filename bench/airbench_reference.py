"""A ceiling check for the CIFAR-10 speed record: airbench94's training in plain PyTorch on resnet_fa's hold-out split.

    python bench/airbench_reference.py --data ../shared/data/cifar10.tgz --epochs 10

airbench94 (Keller Jordan, 2024) reaches 94.0% on CIFAR-10's test set in 10 epochs (mean of 1,000 runs). This
script writes its training out without fastai or resnet_fa's training code (only the split comes from resnet_fa,
so it is the same 45,000/5,000 hold-out as `cifar10-speed`): the whitened 2x2 stem and its bias frozen after 3
epochs, identity-initialised convs, GELU, frozen BN scales with momentum 0.6, Nesterov SGD at airbench's
per-1024-example settings on summed losses, 64x BN-bias learning rate, label smoothing 0.2, a triangular schedule
(0.2 -> 1 at 23% -> 0.07), pre-flipped images flipped together every other epoch, 2-px reflect translation, the
scheduled lookahead from epoch 3, and flip + 1-px translation test-time augmentation. Same precision as resnet_fa
on a CPU: bf16 autocast and channels_last (`--fp32` to turn it off).

If this reference lands far below 94% on a copy of CIFAR-10, the copy (here JPEG at quality 75) sets the ceiling,
not resnet_fa's pipeline. Writes bench/results/reference-airbench94[-<epochs>][-w<width>].json.
"""
import argparse, contextlib, time
from pathlib import Path
from _common import command_line, versions, write_result   # bench/ is on sys.path when a script here runs
import torch
from torch import nn
import torch.nn.functional as F
from resnet_fa.core import resolve_data
from resnet_fa.data import image_files, holdout_idx, ImageCache

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)

def load_split(data) -> tuple:
    "Normalised float images and labels of resnet_fa's CIFAR hold-out split: (x_train, y_train, x_valid, y_valid, classes)."
    files = image_files(resolve_data(data), folders=['train'])
    classes = sorted({f.parent.name for f in files})
    x = ImageCache.build(files, 32).images   # decoded once, the same pixels the fast path trains on
    y = torch.tensor([classes.index(f.parent.name) for f in files])
    x = (x.float()/255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    valid = torch.zeros(len(files), dtype=torch.bool); valid[holdout_idx(files)] = True
    return x[~valid], y[~valid], x[valid], y[valid], classes

class FrozenScaleBN(nn.BatchNorm2d):
    "airbench's BatchNorm: scale fixed at 1, running statistics that move fast (momentum 0.6 in its convention)."
    def __init__(self, n): super().__init__(n, eps=1e-12, momentum=0.4); self.weight.requires_grad_(False)

def identity_conv(ni, nf, k=3, padding='same', bias=False) -> nn.Conv2d:
    conv = nn.Conv2d(ni, nf, k, padding=padding, bias=bias)
    with torch.no_grad():
        nn.init.dirac_(conv.weight[:ni])   # the first `ni` filters pass their input on: a residual path without the add
        if bias: conv.bias.zero_()
    return conv

class ConvGroup(nn.Module):
    def __init__(self, ni, nf):
        super().__init__()
        self.conv1, self.norm1, self.conv2, self.norm2 = identity_conv(ni, nf), FrozenScaleBN(nf), identity_conv(nf, nf), FrozenScaleBN(nf)
    def forward(self, x):
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))

def make_net(width:int=64, n_out:int=10) -> nn.Sequential:
    return nn.Sequential(identity_conv(3, 24, 2, padding=0, bias=True), nn.GELU(), ConvGroup(24, width),
                         ConvGroup(width, 4*width), ConvGroup(4*width, 4*width), nn.MaxPool2d(3), nn.Flatten(),
                         nn.Linear(4*width, n_out, bias=False))

@torch.no_grad()
def whiten_(conv:nn.Conv2d, x:torch.Tensor, eps:float=5e-4):
    "Set `conv`'s 2x2 filters to the PCA whitening of `x`'s patches and their negatives, and freeze them."
    # airbench's covariance is not centred, unlike resnet_fa's `whitening_filters`: kept as airbench has it
    patches = F.unfold(x, 2).transpose(1, 2).reshape(-1, 12)
    eigvals, eigvecs = torch.linalg.eigh(patches.T @ patches / len(patches))
    w = (eigvecs / (eigvals + eps).sqrt()).T.reshape(12, 3, 2, 2)
    conv.weight.copy_(torch.cat([w, -w])); conv.weight.requires_grad_(False)

def translated(padded:torch.Tensor, r:int, size:int=32) -> torch.Tensor:
    "A random crop of `size` from each image of `padded` (padded by `r`), one slice per offset."
    shifts = torch.randint(0, 2*r+1, (len(padded), 2))
    out = torch.empty(len(padded), padded.shape[1], size, size)
    for dy in range(2*r+1):
        for dx in range(2*r+1):
            m = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[m] = padded[m, :, dy:dy+size, dx:dx+size]
    return out

def triangle(step:int, total:int, start=0.2, peak=0.23, end=0.07) -> float:
    top = int(peak*total)
    return start + (1-start)*step/top if step < top else 1 - (1-end)*(step-top)/(total-top)

def train_airbench(split:tuple, epochs:int=10, width:int=64, translate:int=2, seed:int=0, fp32:bool=False,
                   device='cpu', t0:float|None=None, bs:int=1024) -> dict:
    """airbench94's training on `split` (`load_split`'s tuple): per-epoch accuracy and times from `t0` (default: now),
    final accuracy, flip and flip + shift TTA. bf16 autocast and channels_last unless `fp32`. `bs` other than
    airbench's 1024 is airbench94 with its `batch_size` changed: as in its code, the lr stays per example (the step
    grows with the summed loss) and the decay follows the batch."""
    t0 = t0 or time.time()
    torch.manual_seed(seed)
    xt, yt, xv, yv, classes = (v.to(device) if torch.is_tensor(v) else v for v in split)
    net = make_net(width, len(classes)).to(device)
    whiten_(net[0], xt[torch.randperm(len(xt), device=device)[:5000]])   # a random 5,000: the files come sorted by class
    net = net.to(memory_format=torch.channels_last)

    # airbench's per-1024-example hyperparameters turned into PyTorch SGD's on a summed loss
    mom = 0.85
    step_scale = 1024 * (1 + 1/(1 - mom))
    lr, wd = 11.5/step_scale, 0.0153*bs/step_scale
    bn_biases = [p for n, p in net.named_parameters() if 'norm' in n and p.requires_grad]
    others = [p for n, p in net.named_parameters() if 'norm' not in n and p.requires_grad]
    opt = torch.optim.SGD([dict(params=bn_biases, lr=64*lr, weight_decay=wd/(64*lr)),
                           dict(params=others, lr=lr, weight_decay=wd/lr)], momentum=mom, nesterov=True)
    base_lrs = [g['lr'] for g in opt.param_groups]
    loss_func = nn.CrossEntropyLoss(label_smoothing=0.2, reduction='none')
    steps_per_epoch = len(yt)//bs
    total = steps_per_epoch * epochs
    kind = torch.device(device).type
    precision = contextlib.nullcontext if fp32 else lambda: torch.autocast(kind, dtype=torch.bfloat16)

    def logits(x):
        with precision(): return net(x.contiguous(memory_format=torch.channels_last)).float() / 9

    @torch.no_grad()
    def accuracy(tta:int=0) -> float:
        net.eval(); outs = []
        for x in xv.split(1000):
            flip = lambda x: 0.5*logits(x) + 0.5*logits(x.flip(-1)) if tta else logits(x)
            out = flip(x)
            if tta > 1:
                padded = F.pad(x, (1,)*4, mode='reflect')
                out = 0.5*out + 0.25*flip(padded[..., :32, :32]) + 0.25*flip(padded[..., 2:, 2:])
            outs.append(out)
        net.train()
        return (torch.cat(outs).argmax(1) == yv).float().mean().item()

    # every image flipped at random once; then all flipped together on odd epochs: each is seen both ways in two epochs
    flipped = torch.where(torch.rand(len(yt), device=device).view(-1, 1, 1, 1) < 0.5, xt.flip(-1), xt)
    padded = F.pad(flipped, (translate,)*4, mode='reflect')
    slow, step, rows, setup = None, 0, [], time.time() - t0
    for epoch in range(epochs):
        start = time.time()
        net[0].bias.requires_grad_(epoch < 3)
        images = translated(padded.cpu(), translate).to(device) if translate else flipped
        if epoch % 2: images = images.flip(-1)
        order = torch.randperm(len(yt), device=device)
        for i in range(steps_per_epoch):
            idx = order[i*bs:(i+1)*bs]
            for g, base in zip(opt.param_groups, base_lrs): g['lr'] = base*triangle(step, total)
            loss = loss_func(logits(images[idx]), yt[idx]).sum()
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); step += 1
            if epoch >= 3 and step % 5 == 0:   # lookahead: pull a slow copy toward the model, continue from it
                state = net.state_dict()
                if slow is None: slow = {k: v.clone() for k, v in state.items() if v.is_floating_point()}
                decay = 0.95**5 * (step/total)**3
                for k, s in slow.items(): s.lerp_(state[k], 1-decay); state[k].copy_(s)
        if slow is not None:
            for k, s in slow.items(): net.state_dict()[k].copy_(s)
        rows.append(dict(epoch=epoch, accuracy=accuracy(), train_loss=loss.item()/bs,
                         epoch_seconds=round(time.time()-start, 1), elapsed_seconds=round(time.time()-t0, 1)))
        print(rows[-1], flush=True)
    train_seconds = time.time() - t0
    return dict(seed=seed, epochs=epochs, bs=bs, width=width, translate=translate, device=str(device),
                precision='fp32' if fp32 else 'bf16 autocast + channels_last', train_images=len(yt), valid_images=len(yv),
                setup_seconds=round(setup, 1), wall_seconds=round(train_seconds, 1), per_epoch=rows,
                final_accuracy=rows[-1]['accuracy'], flip_tta_accuracy=accuracy(1), shift_tta_accuracy=accuracy(2),
                images_per_second=round(steps_per_epoch*bs*epochs/sum(r['epoch_seconds'] for r in rows), 1))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', required=True, help='CIFAR-10 folder or .tgz archive (train/<class>/*)')
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--width', type=int, default=64,
                   help="airbench94's base width (its blocks have width, 4*width, 4*width)")
    p.add_argument('--translate', type=int, default=2)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--fp32', action='store_true')
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    p.add_argument('--out', default=None)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    t0 = time.time()
    res = train_airbench(load_split(a.data), a.epochs, a.width, a.translate, a.seed, a.fp32, a.device, t0)
    res = dict(command=command_line(), data=str(a.data), **res, versions=versions())
    name = 'reference-airbench94' + (f'-{a.epochs}' if a.epochs != 10 else '') + (f'-w{a.width}' if a.width != 64 else '')
    write_result(a.out or Path(__file__).parent/'results'/f'{name}.json', res)
    print(f"{name}: {res['final_accuracy']:.4f}, flip TTA {res['flip_tta_accuracy']:.4f}, "
          f"flip + shift TTA {res['shift_tta_accuracy']:.4f}, {res['wall_seconds']/60:.1f} min")

if __name__ == '__main__': main()
