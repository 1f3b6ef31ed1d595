"""Where a training step's time goes (data, forward, loss, backward, optimizer) for a named recipe on real data.

    python bench/profile_step.py --recipe cifar10-speed --data ../shared/data/cifar10.tgz --threads 2
    python bench/profile_step.py --recipe imagewoof-fastai --data ../shared/data/imagewoof2-160.tgz --threads 2 --batches 10 --ops 15

Builds the recipe's DataLoaders and learner exactly as `resnet_fa train` does (same data path, precision
callbacks, optimizer), trains `--batches` batches after a few warm-up ones, and times every phase with a
callback, from fastai's own events. Writes bench/results/profile-<recipe>.json. Images per second of the
whole step is the number to compare with the epoch times of bench/speed.py; the split says what to work on.
`--ops N` then trains a few more batches under torch's profiler and lists the N operators that took the most time
of their own (convolutions, activations, casts...): what inside the forward and backward passes to work on.
`--set KEY=VALUE` profiles the recipe with settings changed, as in bench/speed.py.
"""
import argparse, os, sys, time, warnings
from pathlib import Path
from _common import add_device_arg, set_device, versions, write_result, add_set_arg, parse_settings, settings_suffix, command_line   # bench/ is on sys.path
warnings.filterwarnings('ignore')
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import torch
from fastai.callback.core import Callback, CancelFitException
from resnet_fa.learner import get_recipe, recipe_dls, learner_from_recipe
from resnet_fa.callbacks import TorchCompile

# each phase ends at a fastai event of the training batch: after_pred, after_loss, after_backward, after_step, after_batch
PHASES = ('data', 'forward', 'loss', 'backward', 'optimizer', 'callbacks')

class PhaseTimer(Callback):
    "Seconds of each phase of the training step, summed over `n` batches after `warmup` (data: from the last batch's end)."
    order = 100   # last: its clock reads after the other callbacks of each event have run
    def __init__(self, n:int=30, warmup:int=5):
        self.n, self.warmup, self.i, self.last = n, warmup, 0, None
        self.totals = dict.fromkeys(PHASES, 0.)
    def _now(self):
        if torch.cuda.is_available(): torch.cuda.synchronize()   # CUDA runs asynchronously: wait for the kernels
        return time.perf_counter()
    def before_batch(self):
        if self.training: self.marks = [self.last, self._now()]
    def _mark(self):
        if self.training: self.marks.append(self._now())
    after_pred = after_loss = after_backward = after_step = _mark
    def after_batch(self):
        if not self.training: return
        self._mark(); self.last = self.marks[-1]
        self.i += 1
        if self.i > self.warmup and self.marks[0] is not None:
            for phase, a, b in zip(PHASES, self.marks, self.marks[1:]): self.totals[phase] += b - a
        if self.i == self.warmup + self.n: raise CancelFitException()

def top_ops(learn, lr:float, batches:int, n:int) -> list[dict]:
    "The `n` operators with the most self time over `batches` training batches (after one of warm-up), from torch's profiler."
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof, learn.no_bar(), learn.no_logging():
        learn.fit(1, lr, cbs=PhaseTimer(batches, warmup=1))
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return [dict(op=e.key, calls=e.count, seconds=round(e.self_cpu_time_total/1e6, 3), share=round(e.self_cpu_time_total/total, 3))
            for e in events[:n]]

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--recipe', default='cifar10-speed')
    p.add_argument('--data', required=True, help='the dataset folder or .tgz archive')
    p.add_argument('--batches', type=int, default=30)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--ops', type=int, default=0, help='also list the N operators with the most self time')
    p.add_argument('--out', default=None)
    p.add_argument('--compile-mode', default=None,
                   help="with --set compile=True: torch.compile's mode (e.g. max-autotune); default torch's")
    add_set_arg(p)
    add_device_arg(p)
    a = p.parse_args()
    set_device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    settings = parse_settings(a.set)
    r = get_recipe(a.recipe).replace(**settings)
    dls = recipe_dls(r, source=a.data, seed=42)
    learn = learner_from_recipe(dls, r)
    compiled = [cb for cb in learn.cbs if isinstance(cb, TorchCompile)]
    if compiled and a.compile_mode: compiled[0].mode = a.compile_mode
    timer = PhaseTimer(a.batches)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, r.lr, cbs=timer)
    if timer.i < timer.warmup + timer.n:
        sys.exit(f"Only {timer.i} training batches in an epoch: --batches {a.batches} needs {timer.warmup + timer.n} (with the warm-up).")
    step = sum(timer.totals.values())
    images = a.batches * dls.bs
    res = dict(recipe=a.recipe, settings=settings, data=str(a.data), bs=dls.bs, batches=a.batches, versions=versions(),
               seconds=dict((k, round(v, 3)) for k, v in timer.totals.items()),
               share=dict((k, round(v/step, 3)) for k, v in timer.totals.items()),
               images_per_second=round(images/step, 1),
               command=command_line())
    if compiled:   # compiling is timed apart from the step: its batches are in the warm-up
        res['compile'] = dict(seconds=round(compiled[0].compile_time, 1), fallback=compiled[0].fallback,
                              mode=compiled[0].mode)
    for k in PHASES: print(f"{k:10} {res['seconds'][k]:8.2f} s  {100*res['share'][k]:5.1f}%")
    print(f"training step: {res['images_per_second']:.0f} images/s")
    if a.ops:
        res['ops'] = top_ops(learn, r.lr, max(2, a.batches//3), a.ops)
        for o in res['ops']: print(f"{o['op']:40} {o['seconds']:8.2f} s  {100*o['share']:5.1f}%  ({o['calls']} calls)")
    mode = f'-mode-{a.compile_mode}' if compiled and a.compile_mode else ''
    write_result(a.out or Path(__file__).parent/'results'/f'profile-{a.recipe}{settings_suffix(settings)}{mode}.json', res)

if __name__ == '__main__': main()
