"""Time to accuracy: a resnet_fa speed recipe against what a fastai user writes today, measured in one run.

    python bench/speed.py cifar10   --data ../shared/data/cifar10.tgz --threads 2
    python bench/speed.py imagewoof --data ../shared/data/imagewoof2-160.tgz --epochs 5 --threads 2

Each task trains two things on the same split of the same images, one after the other in this process:
- `resnet_fa`: the task's named recipe through `resnet_fa.cli.train`, the function behind `resnet_fa train`
  (data caching, training, reports and export included in the wall time), plus flip TTA when the recipe asks;
- `fastai`: the baseline, plain fastai as its docs teach it: `DataBlock` + `aug_transforms`,
  `vision_learner(dls, resnet18, pretrained=False)`, `lr_find`, `fit_one_cycle`, fp32.

CIFAR-10 (`cifar10`): train on 45,000 images, validate on the last 500 of each class (the paper's hold-out).
The baseline gets the same wall-time budget as resnet_fa's run took: its epochs are chosen from a short
timing probe (on a throwaway model, not counted) so that lr_find + training fit in that time.
Imagewoof (`imagewoof`): 90% of the training split to train, the other 10% to validate (the official
validation split is not provided), the same number of epochs for both at 128 px, as fastai's leaderboard.

Results go to bench/results/speed-<task>[-<epochs>].json; `python bench/report.py` turns them into BENCHMARKS.md.
"""
import argparse, json, math, os, sys, time, warnings
from pathlib import Path
from _common import add_device_arg, set_device, cpu_model, EpochTimer, train_timed, command_line, time_to, versions, write_result, add_set_arg, parse_settings, settings_suffix   # bench/ is on sys.path
warnings.filterwarnings('ignore')
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import torch
from fastai.vision.all import (DataBlock, ImageBlock, CategoryBlock, FuncSplitter, RandomResizedCrop, aug_transforms,
                               vision_learner, accuracy, parent_label, CancelFitException, Callback)
from torchvision.models import resnet18 as torchvision_resnet18
from resnet_fa.learner import RECIPES, Recipe, get_recipe, recipe_dls

TASKS = {
    'cifar10': dict(recipe='cifar10-speed', valid='holdout', milestones=(0.70, 0.80, 0.85, 0.90, 0.92, 0.93, 0.94), size=32,
                    baseline_item_tfms=None),
    'imagewoof': dict(recipe='imagewoof-fastai', valid=0.1, milestones=(), size=128,
                      baseline_item_tfms=RandomResizedCrop(128, min_scale=0.35)),
}

def run_resnet_fa(task:dict, data, epochs, seed:int, out:Path, settings:dict|None=None, precision:str='auto') -> tuple[dict, object]:
    "Train the task's recipe (with `settings` changed) with `resnet_fa.cli.train`, timing each epoch from the start of the call."
    r = get_recipe(task['recipe']).replace(valid=task['valid'], epochs=epochs, **(settings or {}))
    RECIPES[r.name] = r   # the task's split; the recipe's other settings as they are in the library
    learn, run, timer, wall = train_timed(data, r.name, seed=seed, out=out, precision=precision)
    metrics = json.loads((run/'results.json').read_text())['metrics']   # the CLI measured the TTA figures
    rows = timer.rows
    return dict(name='resnet_fa', recipe=r.name, settings=vars(r), precision=precision, run_folder=str(run), wall_seconds=round(wall, 1),
                train_images=len(learn.dls.train_ds), valid_images=len(learn.dls.valid_ds), per_epoch=rows,
                final_accuracy=rows[-1]['accuracy'], flip_tta_accuracy=metrics.get('accuracy_flip_tta'),
                shift_tta_accuracy=metrics.get('accuracy_shift_tta'),
                images_per_second=round(len(learn.dls.train_ds)*len(rows)/sum(timer.times), 1)), learn

class _StopAfter(Callback):
    "Cancel the fit after `n` training batches, timing the last `n - warmup` of them."
    def __init__(self, n:int, warmup:int=3): self.n, self.warmup, self.i = n, warmup, 0
    def after_batch(self):
        if not self.training: return
        self.i += 1
        if self.i == self.warmup: self.start = time.time()
        if self.i == self.n: self.seconds = time.time() - self.start; raise CancelFitException()

def fastai_baseline_learner(files, valid_files, size:int, item_tfms, bs:int=64):
    "What a fastai user writes: a DataBlock with aug_transforms, vision_learner on an untrained ResNet-18."
    valid = set(map(str, valid_files))
    dblock = DataBlock(blocks=(ImageBlock, CategoryBlock), get_y=parent_label, splitter=FuncSplitter(lambda f: str(f) in valid),
                       item_tfms=item_tfms, batch_tfms=aug_transforms(size=size))
    dls = dblock.dataloaders(files, bs=bs)
    return vision_learner(dls, torchvision_resnet18, pretrained=False, metrics=accuracy)

def probe_epochs(make_learner, budget_seconds:float, lr_find_seconds:float, n_batches:int=80, warmup:int=10) -> tuple[int, float]:
    "How many epochs of the baseline fit in `budget_seconds` after lr_find, from timing batches of a throwaway model."
    # 20 batches after 3 of warm-up over-estimated a CIFAR epoch by 44% (279 s probed, 194 s trained): the first
    # batches pay for worker start-up and allocator growth, so warm up longer and time more of them
    learn = make_learner(); stop = _StopAfter(n_batches, warmup)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=stop)
    per_image = stop.seconds / ((n_batches - stop.warmup) * learn.dls.bs)
    n_train, n_valid = len(learn.dls.train_ds), len(learn.dls.valid_ds)
    epoch_seconds = per_image * (n_train + n_valid/3)   # validation: a forward pass, about a third of a training step
    return max(1, math.floor((budget_seconds - lr_find_seconds) / epoch_seconds)), epoch_seconds

def run_fastai(task:dict, dls_ours, epochs:int|None, budget_seconds:float|None, seed:int) -> dict:
    "The fastai baseline on resnet_fa's own training/validation split, for `epochs` or for a wall-time budget."
    from fastai.torch_core import set_seed
    train_files, valid_files = list(dls_ours.train_ds.items), list(dls_ours.valid_ds.items)
    make = lambda: fastai_baseline_learner(train_files + valid_files, valid_files, task['size'], task['baseline_item_tfms'])
    probe = None
    if epochs is None:
        t = time.time(); probe_learn = make()
        with probe_learn.no_bar(): probe_learn.lr_find(show_plot=False)
        lr_find_seconds = time.time() - t   # probed, not counted
        epochs, epoch_estimate = probe_epochs(make, budget_seconds, lr_find_seconds)
        probe = dict(lr_find_seconds=round(lr_find_seconds, 1), estimated_epoch_seconds=round(epoch_estimate, 1))
    set_seed(seed)
    t0 = time.time(); timer = EpochTimer(t0)
    learn = make()
    with learn.no_bar(): lr = float(learn.lr_find(show_plot=False).valley)
    with learn.no_bar(): learn.fit_one_cycle(epochs, lr, cbs=timer)
    wall = time.time() - t0
    rows = timer.rows
    return dict(name='fastai', code="vision_learner(dls, resnet18, pretrained=False, metrics=accuracy); lr_find; fit_one_cycle",
                lr=lr, epochs=epochs, bs=learn.dls.bs, probe=probe, wall_seconds=round(wall, 1), per_epoch=rows,
                final_accuracy=rows[-1]['accuracy'], images_per_second=round(len(train_files)*len(rows)/sum(timer.times), 1),
                train_images=len(train_files), valid_images=len(valid_files))

def milestones(res:dict, targets) -> dict:
    "Seconds from the start of the command to each accuracy in `targets` (TTA counts only at the end)."
    out, tta = {}, max(res.get('flip_tta_accuracy') or 0, res.get('shift_tta_accuracy') or 0)
    for a in targets:
        t = time_to(res['per_epoch'], a)
        if t is None and tta >= a: t = res['wall_seconds']
        out[f'{a:.2f}'] = t
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('task', choices=list(TASKS))
    p.add_argument('--data', required=True, help='the dataset folder or .tgz archive')
    p.add_argument('--epochs', type=int, default=None, help="epochs for both (default: the recipe's; the baseline then gets the same time)")
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--skip-baseline', action='store_true')
    p.add_argument('--baseline-only', action='store_true',
                   help="keep resnet_fa's run from the existing JSON file and train the baseline again (on the same CPU only)")
    p.add_argument('--precision', default='auto', help="resnet_fa's precision: auto (bf16 autocast on a CPU that has it), fp32 or bf16")
    add_set_arg(p)
    add_device_arg(p)
    p.add_argument('--out', default=None, help='JSON file (default bench/results/speed-<task>[-<epochs>].json)')
    a = p.parse_args()
    set_device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    task = TASKS[a.task]
    settings = parse_settings(a.set)
    name = (f"speed-{a.task}" + (f"-{a.epochs}" if a.task == 'imagewoof' and a.epochs else '')
            + settings_suffix(settings) + (f"-{a.precision}" if a.precision != 'auto' else ''))
    out = a.out or Path(__file__).parent/'results'/f'{name}.json'
    command = command_line()
    if a.baseline_only:
        result = json.loads(Path(out).read_text())
        if result['versions'].get('cpu') != cpu_model():   # a ratio across CPUs measures the CPUs, not the libraries
            sys.exit(f"{out} was measured on '{result['versions'].get('cpu')}', this machine is '{cpu_model()}': "
                     f"run both sides again here (without --baseline-only).")
        ours = next(r for r in result['runs'] if r['name'] == 'resnet_fa')
        dls = recipe_dls(Recipe(**ours['settings']), source=a.data, seed=a.seed)   # the settings and split the run used
        result.update(runs=[ours], baseline_command=command, baseline_versions=versions())
    else:
        ours, learn = run_resnet_fa(task, a.data, a.epochs, a.seed, Path('runs')/name, settings, a.precision); dls = learn.dls
        print(f"resnet_fa: {ours['final_accuracy']:.4f} (flip TTA {ours['flip_tta_accuracy']}, flip and shift TTA {ours['shift_tta_accuracy']}) in {ours['wall_seconds']/60:.1f} min")
        ours['milestones'] = milestones(ours, task['milestones'])
        result = dict(task=a.task, data=str(a.data), seed=a.seed, command=command, versions=versions(), runs=[ours],
                      changed_settings=settings)
        write_result(out, result)   # resnet_fa's run is kept even if the baseline does not finish
    if not a.skip_baseline:
        same_epochs = a.epochs if a.task == 'imagewoof' else None
        base = run_fastai(task, dls, same_epochs or (len(ours['per_epoch']) if a.task == 'imagewoof' else None),
                          None if a.task == 'imagewoof' else ours['wall_seconds'], a.seed)
        base['milestones'] = milestones(base, task['milestones'])
        print(f"fastai: {base['final_accuracy']:.4f} in {base['wall_seconds']/60:.1f} min ({base['epochs']} epochs)")
        result['runs'].append(base)
        write_result(out, result)

if __name__ == '__main__': main()
