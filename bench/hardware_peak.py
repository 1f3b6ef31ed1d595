"""How close a training step comes to the machine's matmul peak, for the recipes issue #28 names.

    python bench/hardware_peak.py --threads 2 --cifar ../shared/data/cifar10.tgz --woof ../shared/data/imagewoof2-160.tgz

The peak: a large square matmul (`--gemm` x `--gemm`) in bf16 where the CPU computes bf16 natively (AVX-512 BF16 or
AMX), else fp32 (fp16 on CUDA), with the same threads as training; the median of `--reps` timings. The step: each
recipe's learner and DataLoaders built as `resnet_fa train` builds them (bench/profile_step.py's `PhaseTimer`: data,
forward, loss, backward, optimizer, callbacks), at the recipe's batch size and precision, on a subset of the data
(`--per-class` images of each class, enough for the timed batches). Achieved FLOP/s = forward + backward FLOPs per
image (torch's FlopCounterMode, which counts convolutions and matmuls only) x images per second of the whole step;
the compute-only figure divides by the forward + loss + backward time instead. The peak is measured before and after
each recipe (peak, A, peak, B, peak, C, peak) and each recipe is compared with the mean of the two around it, so
that other processes' load falls on both. Writes bench/results/hardware_peak.json.
"""
import argparse, copy, statistics, tempfile, time, warnings
from pathlib import Path
from _common import (command_line, versions, write_result, loadavg, subset_folder, set_device, cpu_model,
                     add_device_arg)   # bench/
warnings.filterwarnings('ignore')
import torch
from torch.utils.flop_counter import FlopCounterMode
from profile_step import PhaseTimer
from resnet_fa.learner import get_recipe, recipe_dls, learner_from_recipe
from resnet_fa.callbacks import cpu_has_fast_bf16

RECIPES = {'cifar10-speed': 'cifar', 'cifar10-onecycle': 'cifar', 'imagewoof-fastai': 'woof'}

def peak_dtype(device:str) -> torch.dtype:
    if device.startswith('cuda'): return torch.float16
    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32

def gemm_flops(n:int, dtype, device:str, reps:int=5) -> dict:
    "FLOP/s of an n x n x n matmul (2n^3 FLOPs): median and best of `reps` timings after one warm-up."
    a, b = torch.randn(n, n, device=device).to(dtype), torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    times = []
    for i in range(reps + 1):
        sync(); t = time.perf_counter(); a @ b; sync()
        if i: times.append(time.perf_counter() - t)
    return dict(median=2*n**3/statistics.median(times), best=2*n**3/min(times), seconds=[round(t, 4) for t in times])

def step_flops_per_image(learn, n:int=8) -> int:
    "Forward + backward FLOPs of one image through `learn`'s model, under the learner's precision and memory format."
    model = copy.deepcopy(learn.model).train()
    x, y = learn.dls.one_batch()
    x, y = x[:n], y[:n]
    if any(type(cb).__name__ == 'ChannelsLast' for cb in learn.cbs): x = x.contiguous(memory_format=torch.channels_last)
    bf16 = any(type(cb).__name__ in ('CPUMixedPrecision', 'MixedPrecision') for cb in learn.cbs)
    kind = x.device.type
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(kind, dtype=torch.bfloat16 if kind == 'cpu' else torch.float16, enabled=bf16):
            loss = learn.loss_func(model(x).float(), y)
        loss.backward()
    return counter.get_total_flops() // n

def measure_recipe(name:str, data, batches:int, warmup:int) -> dict:
    r = get_recipe(name)
    dls = recipe_dls(r, source=data, seed=42)
    learn = learner_from_recipe(dls, r)
    flops = step_flops_per_image(learn)
    timer = PhaseTimer(batches, warmup)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, r.lr, cbs=timer)
    if timer.i < warmup + batches: raise SystemExit(f"{name}: only {timer.i} batches in an epoch, raise --per-class.")
    step = sum(timer.totals.values())
    compute = timer.totals['forward'] + timer.totals['loss'] + timer.totals['backward']
    images = batches * dls.bs
    return dict(recipe=name, arch=r.arch, bs=dls.bs, size=r.size, model_kwargs=r.model_kwargs, opt=r.opt,
                precision=[type(cb).__name__ for cb in learn.cbs if type(cb).__name__ in
                           ('ChannelsLast', 'CPUMixedPrecision', 'MixedPrecision')],
                train_images=len(dls.train_ds), batches=batches, warmup_batches=warmup,
                flops_per_image=flops, images_per_second=round(images/step, 1),
                seconds={k: round(v, 3) for k, v in timer.totals.items()},
                share={k: round(v/step, 3) for k, v in timer.totals.items()},
                achieved_flops=flops*images/step, compute_flops=flops*images/compute)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--cifar', default='../shared/data/cifar10.tgz', help='CIFAR-10 folder or archive')
    p.add_argument('--woof', default='../shared/data/imagewoof2-160.tgz', help='Imagewoof folder or archive')
    p.add_argument('--recipes', nargs='+', default=list(RECIPES), choices=list(RECIPES))
    p.add_argument('--per-class', type=int, default=None,
                   help='images of each class to train on (default: enough for the timed batches)')
    p.add_argument('--batches', type=int, default=4, help='timed training batches per recipe')
    p.add_argument('--warmup', type=int, default=2, help='untimed batches first')
    p.add_argument('--gemm', type=int, default=4096)
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--threads', type=int, default=2)
    add_device_arg(p)
    p.add_argument('--out', default=None)
    a = p.parse_args()
    set_device(a.device)
    torch.set_num_threads(a.threads)
    dtype = peak_dtype(a.device)
    res = dict(command=command_line(), device=a.device, threads=a.threads, cpu=cpu_model(), versions=versions(),
               gemm=dict(n=a.gemm, dtype=str(dtype).replace('torch.', ''), reps=a.reps), loadavg_start=loadavg(),
               notes=("Peak and steps interleaved (peak, recipe, peak, recipe...), each recipe against the mean of the "
                      "peaks measured just before and after it: other processes shared the 2 cores during the run, "
                      "so compare only the ratios within this file. FlopCounterMode counts convolutions and matmuls: "
                      "BatchNorm, activations, pooling and the optimizer do work it does not count."),
               peaks=[], recipes=[])
    res['peaks'].append(gemm_flops(a.gemm, dtype, a.device, a.reps))
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.recipes:
            r = get_recipe(name)
            src = a.cifar if RECIPES[name] == 'cifar' else a.woof
            per_class = a.per_class or -(-(a.warmup + a.batches + 1) * r.bs // 9)   # 10 classes, 10% held out
            data = subset_folder(src, Path(tmp)/f'{RECIPES[name]}-{per_class}', per_class, folders=['train'])
            m = measure_recipe(name, data, a.batches, a.warmup)
            res['peaks'].append(gemm_flops(a.gemm, dtype, a.device, a.reps))
            peak = (res['peaks'][-2]['median'] + res['peaks'][-1]['median']) / 2
            m.update(peak_flops=peak, percent_of_peak=round(100*m['achieved_flops']/peak, 1),
                     compute_percent_of_peak=round(100*m['compute_flops']/peak, 1), per_class=per_class,
                     loadavg_after=loadavg())
            res['recipes'].append(m)
            print(f"{name}: {m['achieved_flops']/1e9:.1f} GFLOP/s of a {peak/1e9:.1f} GFLOP/s {res['gemm']['dtype']} "
                  f"peak = {m['percent_of_peak']}% (forward + backward only: {m['compute_percent_of_peak']}%); "
                  f"split {m['share']}", flush=True)
            write_result(a.out or Path(__file__).parent/'results'/'hardware_peak.json', res)
    res['peak_flops'] = max(p['median'] for p in res['peaks'])
    res['loadavg_end'] = loadavg()
    write_result(a.out or Path(__file__).parent/'results'/'hardware_peak.json', res)

if __name__ == '__main__': main()
