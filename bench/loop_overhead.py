"""Training-loop overhead: a `resnet_learner` epoch against a hand-written PyTorch loop.

Both train the same model (ResNet-20 unless `--arch`) on the same in-memory CIFAR-10 batches (resnet_fa's fast
path, built once), with the same optimizer settings (SGD, momentum 0.9, L2 weight decay) and the same precision
(bf16 autocast + channels_last on the CPU, or fp32 with --fp32). Only the training phase is timed.

    python bench/loop_overhead.py --images 5000 --epochs 3
    python bench/loop_overhead.py --arch airbench_resnet8 --bs 1024 --images 20000 --epochs 1 --threads 2
writes bench/results/loop_overhead[-<arch>].json with images/s for each and their ratio (target >= 0.97).
"""
import argparse, contextlib, json, time
from pathlib import Path
from _common import cpu_model, command_line, add_device_arg, set_device   # bench/ is on sys.path when a script here runs
import torch, fastai
from torch import nn
from fastai.callback.core import Callback
from resnet_fa.core import seed_everything
from _common import sample_data
from resnet_fa.data import image_files, tensor_dls
from resnet_fa.models import create_model
from resnet_fa.learner import resnet_learner

class TrainTimer(Callback):
    order = 100
    def before_fit(self): self.seconds, self.n = 0., 0
    def before_train(self): self.t0 = time.perf_counter()
    def after_train(self): self.seconds += time.perf_counter() - self.t0
    def after_batch(self):
        if self.training: self.n += len(self.yb[0])

def fastai_epochs(dls, arch, epochs, precision):
    seed_everything(0)
    learn = resnet_learner(dls, create_model(arch, n_out=10), opt='sgd', precision=precision, nan_guard=False, metrics=[])
    timer = TrainTimer()
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs, 0.05, wd=5e-4, cbs=timer)
    return timer.n / timer.seconds

def plain_epochs(dls, arch, epochs, precision):
    seed_everything(0)
    model = create_model(arch, n_out=10).to(dls.device or 'cpu')
    bf16 = precision != 'fp32'   # resnet_fa's automatic choice: bf16 autocast on a CPU, fp16 on CUDA
    kind = torch.device(dls.device or 'cpu').type
    if bf16: model = model.to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([dict(params=decay, weight_decay=5e-4), dict(params=no_decay, weight_decay=0.)], lr=0.05, momentum=0.9)
    loss_func, n, seconds = nn.CrossEntropyLoss(), 0, 0.
    for _ in range(epochs):
        model.train(); t0 = time.perf_counter()
        for xb, yb in dls.train:
            xb, yb = xb.as_subclass(torch.Tensor), yb.as_subclass(torch.Tensor)   # what a plain PyTorch loop has
            if bf16: xb = xb.contiguous(memory_format=torch.channels_last)
            dtype = torch.bfloat16 if kind == 'cpu' else torch.float16
            ctx = torch.autocast(kind, dtype=dtype) if bf16 else contextlib.nullcontext()
            with ctx: loss = loss_func(model(xb).float(), yb)
            loss.backward(); opt.step(); opt.zero_grad()
            n += len(yb)
        seconds += time.perf_counter() - t0
    return n / seconds

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=5000)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--arch', default='resnet20', help='a model registered in resnet_fa')
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--rounds', type=int, default=3, help='alternating rounds; the median of each is reported')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--fp32', action='store_true')
    add_device_arg(p)
    p.add_argument('--out', default=None, help='default bench/results/loop_overhead[-<arch>].json')
    a = p.parse_args()
    set_device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    cifar = sample_data('cifar10')
    files = list(image_files(cifar/'train'))
    files = files[::max(1, len(files)//a.images)][:a.images]
    valid_idx = list(range(0, len(files), 10))   # every tenth image, so every class is in both splits
    n_valid = len(valid_idx)
    dls = tensor_dls(files, valid_idx=valid_idx, bs=a.bs, device=a.device)
    precision = 'fp32' if a.fp32 else 'auto'
    fa, pl = [], []
    for _ in range(a.rounds):
        fa.append(fastai_epochs(dls, a.arch, a.epochs, precision)); pl.append(plain_epochs(dls, a.arch, a.epochs, precision))
    med = lambda xs: sorted(xs)[len(xs)//2]
    res = dict(command=command_line(), fastai_images_per_s=med(fa), plain_images_per_s=med(pl), ratio=med(fa)/med(pl), rounds=dict(fastai=fa, plain=pl),
               arch=a.arch, bs=a.bs, images=len(files)-n_valid, epochs=a.epochs, precision=precision, threads=torch.get_num_threads(),
               versions=dict(fastai=fastai.__version__, torch=torch.__version__), cpu=cpu_model())
    out = Path(a.out or Path(__file__).parent/'results'/('loop_overhead' + ('' if a.arch == 'resnet20' else f'-{a.arch}') + '.json'))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + '\n')
    print(f"resnet_learner {res['fastai_images_per_s']:.0f} img/s, plain loop {res['plain_images_per_s']:.0f} img/s, ratio {res['ratio']:.3f}")

if __name__ == '__main__': main()
