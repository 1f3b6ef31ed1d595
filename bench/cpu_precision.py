"""Training throughput of ResNet-20 on the CPU through fastai: fp32 against resnet_fa's precision settings.

Each setting trains a fastai `Learner` (SGD with momentum, cross-entropy) on the same batches of real CIFAR-10
images (32 px, from `sample_data`), for `--batches` batches of `--bs` images per epoch. Settings are run
interleaved, `--repeats` times each after one warm-up epoch, and the best epoch is kept (the machine is shared:
the best run is the least disturbed one); the median is recorded too.

- `fp32`: plain fastai, the baseline.
- `fastai_to_bf16`: fastai's own `learn.to_bf16()`, which on a CPU only warns and trains in fp32.
- `fp32_channels_last`: `precision_cbs('fp32', channels_last=True)`.
- `bf16`: `CPUMixedPrecision` alone.
- `auto`: `precision_cbs('auto')`, what `resnet_learner` uses by default (bf16 + channels last on a CPU with native bf16).

    python bench/cpu_precision.py --bs 128 --batches 8 --repeats 3 --threads 1

On a loaded shared machine use `--threads 1`: two OpenMP threads competing with other jobs for two cores
spin-wait and make every setting several times slower and the timings meaningless.
"""
import argparse, json, os, statistics, time, warnings
from pathlib import Path
from _common import cpu_model, command_line, loadavg   # bench/ is on sys.path when a script here runs
warnings.filterwarnings('ignore')
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import numpy as np, torch, fastai
from torch import nn
from PIL import Image
from fastai.data.load import DataLoader
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.optimizer import SGD
from fastai.callback.fp16 import MixedPrecision  # noqa: F401 (patches Learner.to_bf16)
from resnet_fa.core import seed_everything
from _common import sample_data
from resnet_fa.callbacks import precision_cbs, CPUMixedPrecision, cpu_has_fast_bf16

def resnet20():
    try:
        from resnet_fa.models import resnet20
        return resnet20(10)
    except ImportError:  # the models module is not there: torchvision's BasicBlock in the CIFAR layout
        from torchvision.models.resnet import BasicBlock
        def stage(ni, nf, stride):
            down = nn.Sequential(nn.Conv2d(ni, nf, 1, stride, bias=False), nn.BatchNorm2d(nf)) if stride != 1 or ni != nf else None
            return nn.Sequential(BasicBlock(ni, nf, stride, down), BasicBlock(nf, nf), BasicBlock(nf, nf))
        return nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                             stage(16, 16, 1), stage(16, 32, 2), stage(32, 64, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

def cifar_tensors(n):
    "`n` real CIFAR-10 training images (equal per class) as a normalised float tensor, and their labels."
    src = sample_data('cifar10')
    if src is None: raise SystemExit('CIFAR-10 sample data not found (../shared/data/cifar10.tgz)')
    classes = sorted(p.name for p in (src/'train').iterdir())
    files = [(f, i) for i,c in enumerate(classes) for f in sorted((src/'train'/c).iterdir())[:n//len(classes)]]
    x = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert('RGB')) for f,_ in files])).permute(0, 3, 1, 2).float()/255
    x = (x - x.mean((0, 2, 3), keepdim=True))/x.std((0, 2, 3), keepdim=True)
    return x, torch.tensor([i for _,i in files])

def make_learner(x, y, bs, setting):
    seed_everything(0)
    ds = list(zip(x, y))
    dls = DataLoaders(DataLoader(ds, bs=bs, shuffle=True, drop_last=True), DataLoader(ds[:bs], bs=bs), device='cpu')
    learn = Learner(dls, resnet20(), loss_func=nn.CrossEntropyLoss(), opt_func=SGD, lr=0.05)
    if setting == 'fastai_to_bf16': learn.to_bf16()
    elif setting == 'fp32_channels_last': learn.add_cbs(precision_cbs('fp32', 'cpu', channels_last=True))
    elif setting == 'bf16': learn.add_cbs([CPUMixedPrecision()])
    elif setting == 'auto': learn.add_cbs(precision_cbs('auto', 'cpu'))
    return learn

def time_train_epoch(learn):
    "Seconds spent in the training batches of one epoch (validation excluded)."
    t = {}
    from fastai.callback.core import Callback
    class Timer(Callback):
        order = 100
        def before_train(self): t['start'] = time.perf_counter()
        def after_train(self): t['end'] = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=Timer())
    return t['end'] - t['start']


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--bs', type=int, default=128); p.add_argument('--batches', type=int, default=8)
    p.add_argument('--repeats', type=int, default=3); p.add_argument('--threads', type=int, default=0)
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'cpu_precision.json'))
    p.add_argument('--device', default='cpu', choices=['cpu'], help='a CPU benchmark (bf16 autocast on a CPU): cpu only')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    settings = ['fp32', 'fastai_to_bf16', 'fp32_channels_last', 'bf16', 'auto']
    x, y = cifar_tensors(a.bs*a.batches)
    learners = {s: make_learner(x, y, a.bs, s) for s in settings}
    load_before = loadavg()
    for s in settings: time_train_epoch(learners[s])  # warm-up: oneDNN picks and caches its kernels
    times = {s: [] for s in settings}
    for r in range(a.repeats):
        for s in settings: times[s].append(time_train_epoch(learners[s]))
    n = a.bs*a.batches
    res = {s: dict(images_per_s_best=round(n/min(ts), 1), images_per_s_median=round(n/statistics.median(ts), 1),
                   seconds=[round(t, 3) for t in ts]) for s,ts in times.items()}
    for s in settings:
        res[s]['speedup_vs_fp32_best'] = round(res[s]['images_per_s_best']/res['fp32']['images_per_s_best'], 2)
        res[s]['speedup_vs_fp32_median'] = round(res[s]['images_per_s_median']/res['fp32']['images_per_s_median'], 2)
    out = dict(benchmark='ResNet-20 training throughput on the CPU, fastai Learner, real CIFAR-10 images', command=command_line(),
               model='resnet_fa.models.resnet20' if _has_models() else 'torchvision BasicBlock ResNet-20',
               auto_setting=[type(o).__name__ for o in precision_cbs('auto', 'cpu')], cpu=cpu_model(),
               cpu_has_fast_bf16=cpu_has_fast_bf16(), torch=torch.__version__, fastai=fastai.__version__,
               threads=torch.get_num_threads(), bs=a.bs, batches_per_epoch=a.batches, repeats=a.repeats,
               loadavg_before=load_before, loadavg_after=loadavg(),
               note='Best of the repeats: on a shared machine the least disturbed run; compare loadavg before and after.',
               results=res)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    for s in settings: print(f"{s:20s} {res[s]['images_per_s_best']:8.1f} img/s best  {res[s]['images_per_s_median']:8.1f} median  "
                             f"x{res[s]['speedup_vs_fp32_best']} / x{res[s]['speedup_vs_fp32_median']}")

def _has_models():
    try: import resnet_fa.models; return True
    except ImportError: return False

if __name__ == '__main__': main()
