"""Train a named recipe end to end on a local copy of its data and record accuracy and wall time per epoch.

    python bench/train_recipe.py --recipe cifar10-onecycle --data ../shared/data/cifar10.tgz
writes bench/results/<recipe>.json (an ablation, `--set KEY=VALUE ...`, or `--precision`, adds them to the name). The recipe's own validation split is used (for the CIFAR recipes the
paper's hold-out: the last 500 training images of each class), and the recipe never sees it while training.
"""
import argparse, json, tempfile
from pathlib import Path
from _common import subset_folder, pets_subset, add_device_arg, set_device, train_timed, command_line, versions, write_result, add_set_arg, parse_settings, settings_suffix   # bench/ is on sys.path when a script here runs
import torch
from resnet_fa.learner import get_recipe

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--recipe', default='cifar10-onecycle')
    p.add_argument('--data', required=True, help='dataset folder or .tgz archive')
    p.add_argument('--epochs', type=int, default=None)
    subset = p.add_mutually_exclusive_group()   # one way to take part of the data: both would build a subset for nothing
    subset.add_argument('--per-class', type=int, default=None,
                   help='train on the first N images of each class (linked into a temporary folder)')
    p.add_argument('--under', default=None,
                   help="with --per-class: the top folder holding the class folders (e.g. 'train'); that folder "
                        "alone is the data, a plain folder of classes")
    subset.add_argument('--breeds', default=None,
                   help="Pets layout only: train on these breeds alone, comma-separated (e.g. the three complete "
                        "ones of the sample, Abyssinian,Bengal,american_bulldog)")
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--precision', default='auto', help="auto (bf16 on this CPU), fp32 or bf16")
    add_set_arg(p)
    add_device_arg(p)
    p.add_argument('--out', default=None, help='JSON file (default bench/results/<recipe>[-<epochs>][-<key>-<value>][-<precision>].json)')
    a = p.parse_args()
    set_device(a.device)
    settings = parse_settings(a.set)
    recipe = get_recipe(a.recipe).replace(**settings)
    name = (a.recipe + (f"-{a.epochs}" if a.epochs else '') + settings_suffix(settings)
            + (f"-{a.precision}" if a.precision != 'auto' else ''))
    if a.threads: torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data
        if a.per_class:
            sub = subset_folder(a.data, Path(tmp)/'subset', a.per_class, folders=[a.under] if a.under else None)
            data = sub/a.under if a.under else sub
        elif a.breeds: data = pets_subset(a.data, Path(tmp)/'pets', a.breeds.split(','))
        learn, run, timer, wall = train_timed(data, recipe, epochs=a.epochs, seed=a.seed, precision=a.precision,
                                              out=Path('runs')/f'bench-{name}')
    rows = timer.rows   # the recorder's values were replaced by the CLI's final `validate`
    res = dict(recipe=a.recipe, command=command_line(),
               changed_settings=settings, precision=a.precision, data=str(a.data), per_class=a.per_class, under=a.under, breeds=a.breeds, seed=a.seed, wall_seconds=wall, epochs=len(rows),
               epoch_seconds=timer.times, per_epoch=rows, final_accuracy=rows[-1]['accuracy'],
               train_images=len(learn.dls.train_ds), valid_images=len(learn.dls.valid_ds),
               images_per_second=len(learn.dls.train_ds)*len(rows)/sum(timer.times),
               final_metrics=json.loads((run/'results.json').read_text())['metrics'],   # with flip TTA where the task has it
               settings=json.loads((run/'config.json').read_text())['recipe'], versions=versions())
    out = Path(a.out or Path(__file__).parent/'results'/f'{name}.json')
    write_result(out, res)
    print(f"{name}: accuracy {res['final_accuracy']:.4f} after {len(rows)} epochs, {wall/60:.1f} min -> {out}")

if __name__ == '__main__': main()
