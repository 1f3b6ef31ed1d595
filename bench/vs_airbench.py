"""resnet_fa's `cifar10-speed` against airbench94 on the same images, by default for the same epochs, interleaved.

    python bench/vs_airbench.py --data ../shared/data/cifar10.tgz --per-class 1000 --epochs 8 --seeds 0 1 --threads 2

Issue #28's comparison with the record holder on its own ground, made small enough for a shared 2-core CPU: the
first `--per-class` training images of each CIFAR-10 class (symlinked into a temporary folder), split by resnet_fa's
hold-out rule (the last 10% of each class) for both, both trained for `--epochs` with their own settings
(bench/airbench_reference.py's airbench94 in plain PyTorch, and the `cifar10-speed` recipe through
`resnet_fa.cli.train`, the function behind `resnet_fa train`); `--ours-epochs` gives resnet_fa other epochs (the
recipe's own against airbench94's own, as issue #28 puts its target). The runs alternate (airbench, resnet_fa, then
resnet_fa, airbench for the next seed...), so that load from other processes falls on both. Wall times count from
each run's start: decoding the images, training, per-epoch evaluation (and for resnet_fa its reports and export).

Writes bench/results/vs-airbench94-<per-class>-<epochs>.json; `python bench/report.py` makes the table.
"""
import argparse, statistics, tempfile, time
from pathlib import Path
from _common import (add_set_arg, parse_settings, settings_suffix, command_line, versions, write_result, loadavg,
                     subset_folder, set_device, time_to, add_device_arg)   # bench/ is on sys.path
import torch
from airbench_reference import load_split, train_airbench
from speed import TASKS, run_resnet_fa

def run_airbench(data, epochs, seed, device, bs:int|None=None, fp32:bool=False) -> dict:
    "airbench94 (bench/airbench_reference.py) on `data`, timed from the start of decoding the images."
    t0 = time.time()
    return dict(name='airbench94', **train_airbench(load_split(data), epochs, seed=seed, device=device, t0=t0,
                                                    bs=bs or 1024, fp32=fp32))

def run_ours(data, epochs, seed, out, settings:dict|None=None, precision:str='auto') -> dict:
    "resnet_fa's `cifar10-speed` (with `settings` changed) through `resnet_fa.cli.train` (bench/speed.py's `run_resnet_fa`)."
    res, learn = run_resnet_fa(TASKS['cifar10'], data, epochs, seed, out, settings, precision)
    return dict(res, seed=seed)

def summary(runs:list[dict]) -> dict|None:
    "Means over the seeds both methods finished, and the ratios resnet_fa / airbench94."
    done = [s for s in {r['seed'] for r in runs} if len({r['name'] for r in runs if r['seed'] == s}) == 2]
    runs = [r for r in runs if r['seed'] in done]
    if not runs: return None
    out = {}
    for name in ('airbench94', 'resnet_fa'):
        rs = [r for r in runs if r['name'] == name]
        out[name] = {k: statistics.mean(r[k] for r in rs) for k in
                     ('final_accuracy', 'flip_tta_accuracy', 'wall_seconds', 'images_per_second')} | dict(n=len(rs))
    a, b = out['airbench94'], out['resnet_fa']
    # the target: resnet_fa's time to airbench's flip-TTA accuracy (its per-epoch accuracy, or its
    # final flip TTA at the end of the run) over airbench's wall time, per seed
    ratios = []
    for seed in sorted({r['seed'] for r in runs}):
        ab = next(r for r in runs if r['name'] == 'airbench94' and r['seed'] == seed)
        ours = next(r for r in runs if r['name'] == 'resnet_fa' and r['seed'] == seed)
        t = time_to(ours['per_epoch'], ab['flip_tta_accuracy'])
        # or at the end of its training, as airbench's wall time ends: both leave out their final TTA and reports
        if t is None and (ours['flip_tta_accuracy'] or 0) >= ab['flip_tta_accuracy']:
            t = ours['per_epoch'][-1]['elapsed_seconds']
        ratios.append(None if t is None else round(t / ab['wall_seconds'], 3))
    out['ratio'] = dict(wall_seconds=round(b['wall_seconds']/a['wall_seconds'], 3),
                        images_per_second=round(b['images_per_second']/a['images_per_second'], 3),
                        flip_tta_points=round(100*(b['flip_tta_accuracy'] - a['flip_tta_accuracy']), 2),
                        time_to_airbench_flip_tta_per_seed=ratios)
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', required=True, help='CIFAR-10 folder or .tgz archive (train/<class>/*)')
    p.add_argument('--per-class', type=int, default=1000, help='training images of each class to use (0: all)')
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--ours-epochs', type=int, default=None, help="resnet_fa's epochs, if not --epochs")
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--threads', type=int, default=2)
    add_device_arg(p)
    add_set_arg(p)   # resnet_fa's recipe settings, e.g. --set div=5 compile=True
    p.add_argument('--airbench-bs', type=int, default=1024,
                   help="airbench94's batch size (its lr and decay are per example, so they follow it); default its own")
    p.add_argument('--only', choices=['airbench94', 'resnet_fa'], default=None,
                   help='run one side only (an ablation; the ratios need both)')
    p.add_argument('--out', default=None)
    a = p.parse_args()
    settings = parse_settings(a.set)
    set_device(a.device)
    torch.set_num_threads(a.threads)
    name = f"vs-airbench94-{a.per_class}-{a.epochs}" + settings_suffix(settings) + (f'-{a.only}' if a.only else '')
    ours_epochs = a.ours_epochs or a.epochs
    if ours_epochs != a.epochs: name += f'-ours-{ours_epochs}'
    if a.airbench_bs != 1024: name += f'-airbench-bs-{a.airbench_bs}'
    out = Path(a.out or Path(__file__).parent/'results'/f'{name}.json')
    result = dict(command=command_line(), data=str(a.data), per_class=a.per_class, epochs=a.epochs, ours_epochs=ours_epochs, seeds=a.seeds,
                  settings=settings, airbench_bs=a.airbench_bs, device=a.device, versions=versions(), loadavg_start=loadavg(), runs=[],
                  notes="Runs interleaved (airbench94 first for even seeds, resnet_fa first for odd ones) so that other "
                        "processes' load falls on both; compare only the ratios within this file.")
    with tempfile.TemporaryDirectory() as tmp:
        data = subset_folder(a.data, Path(tmp)/'cifar10', a.per_class, folders=['train']) if a.per_class else a.data
        for k, seed in enumerate(a.seeds):
            order = ['airbench94', 'resnet_fa'] if k % 2 == 0 else ['resnet_fa', 'airbench94']
            if a.only: order = [a.only]
            for which in order:
                r = (run_airbench(data, a.epochs, seed, a.device, bs=a.airbench_bs) if which == 'airbench94'
                     else run_ours(data, ours_epochs, seed, Path(tmp)/f'run-{seed}', settings))
                r['loadavg_after'] = loadavg()
                r.pop('settings', None) if which == 'airbench94' else None
                result['runs'].append(r)
                print(f"{which} seed {seed}: {r['final_accuracy']:.4f}, flip TTA {r['flip_tta_accuracy']}, "
                      f"{r['wall_seconds']:.0f} s", flush=True)
                result['summary'] = summary(result['runs'])
                write_result(out, result)   # each finished run is kept
    result['loadavg_end'] = loadavg()
    write_result(out, result)
    print(result.get('summary'))

if __name__ == '__main__': main()
