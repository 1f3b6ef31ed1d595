"""A recipe's measured full runs, read from the committed `bench/results/*.json`, for the tutorials' pages.

    from recipe_results import show_recipe_results     # with tools/ on sys.path
    show_recipe_results('cifar10-paper')               # table, command, CPU and accuracy curve of each matching run

The tutorials cannot train a full recipe while the docs build (hours on a CPU); they show the runs the benchmark
scripts recorded instead, labelled as such, with every number read from the files at build time. A file counts as a
run of the recipe as it is today when its training settings equal the recipe's current ones (the number of epochs,
the validation split and the test-time augmentation may differ: the table shows them); runs of earlier versions of
a recipe are left out, so a page never presents a superseded set-up as the recipe's result. Runs on the first N
images of each class (`--per-class`: equal-budget comparisons, on the Benchmarks page) are left out too.
"""
from __future__ import annotations
import json, re
from dataclasses import asdict, fields
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent/'bench'/'results'
# Settings that may differ between runs of one recipe without making it another recipe.
FREE = {'name', 'data', 'epochs', 'iterations', 'valid', 'source', 'notes', 'tta', 'tta_shift', 'milestones', 'warmup_lr'}

def _norm(v): return json.loads(json.dumps(v, default=str))

def _pct(x): return '-' if x is None else f'{100*x:.2f}%'

def _minutes(s): return '-' if s is None else f'{s/60:.1f} min'

def _threads(d:dict, command:str):
    t = (d.get('versions') or {}).get('threads')
    m = re.search(r'--threads\s+(\d+)', command or '')
    return t if t is not None else (int(m[1]) if m else None)

def runs_in(path:Path) -> list[dict]:
    "resnet_fa's runs recorded in one results file (bench/speed.py's or bench/train_recipe.py's format), in one shape."
    d = json.loads(path.read_text())
    # the first N images of each class (bench/vs_airbench.py's equal-budget comparisons): not the recipe's data
    if d.get('per_class'): return []
    out = []
    if 'runs' in d:                                  # bench/speed.py: one file, several runs (resnet_fa and fastai)
        for r in d['runs']:
            if r.get('name') != 'resnet_fa': continue
            out.append(dict(file=path.name, recipe=r.get('recipe'), settings=r.get('settings') or {}, per_epoch=r.get('per_epoch') or [],
                            accuracy=r.get('final_accuracy'), flip=r.get('flip_tta_accuracy'), shift=r.get('shift_tta_accuracy'),
                            wall=r.get('wall_seconds'), command=d.get('command', ''), cpu=(d.get('versions') or {}).get('cpu'),
                            threads=_threads(d, d.get('command', '')), valid=r.get('valid_images'), note=d.get('note')))
    elif 'recipe' in d and 'final_accuracy' in d:     # bench/train_recipe.py: one run per file
        m = d.get('final_metrics') or {}
        out.append(dict(file=path.name, recipe=d['recipe'], settings=d.get('settings') or {}, per_epoch=d.get('per_epoch') or [],
                        accuracy=d['final_accuracy'], flip=m.get('accuracy_flip_tta', d.get('flip_tta_accuracy')),
                        shift=m.get('accuracy_shift_tta'), wall=d.get('wall_seconds') or d.get('total_epoch_seconds'),
                        command=d.get('command', ''), cpu=d.get('cpu') or (d.get('versions') or {}).get('cpu'),
                        threads=_threads(d, d.get('command', '')), valid=d.get('valid_images'), note=d.get('note')))
    return out

def is_current(settings:dict, recipe) -> bool:
    "Were these the training settings of `recipe` (a `Recipe`) as it is today?"
    from dataclasses import MISSING
    defaults = {f.name: f.default_factory() if f.default_factory is not MISSING else f.default for f in fields(recipe)}
    now = _norm(asdict(recipe))
    return all(_norm(settings.get(k, defaults.get(k))) == v for k, v in now.items() if k not in FREE)

def recipe_runs(name:str, current_only=True) -> list[dict]:
    "Every recorded run of recipe `name` in bench/results (only those with its current settings, by default)."
    from resnet_fa.learner import get_recipe
    recipe = get_recipe(name)
    runs = [r for f in sorted(RESULTS.glob('*.json')) for r in runs_in(f) if r['recipe'] == name and r['settings']]
    return [r for r in runs if is_current(r['settings'], recipe)] if current_only else runs

def results_markdown(runs:list[dict], name:str) -> str:
    "A table of `runs` with the command and CPU of each, as Markdown."
    if not runs:
        return (f"**Full `{name}` recipe:** no run of the recipe as it is today is recorded in `bench/results/` yet "
                f"(`python bench/train_recipe.py --recipe {name} --data PATH` records one).")
    lines = [f"**Full `{name}` recipe, measured** (not run by this page: read from `bench/results/` when the docs were built)", '',
             '| file | model | epochs | held-out images | accuracy | flip TTA | flip + shift TTA | wall time |',
             '|---|---|---|---|---|---|---|---|']
    for r in runs:
        arch = r['settings'].get('arch', '-')
        mk = r['settings'].get('model_kwargs')
        if mk: arch += ' (' + ', '.join(f'{k}={v}' for k, v in mk.items()) + ')'
        lines.append(f"| `{r['file']}` | {arch} | {len(r['per_epoch']) or r['settings'].get('epochs', '-')} | {r['valid'] or '-'} | {_pct(r['accuracy'])} "
                     f"| {_pct(r['flip'])} | {_pct(r['shift'])} | {_minutes(r['wall'])} |")
    # the CPU beside each command rather than in a table column: the table stays readable on a narrow page
    lines += ['', 'Commands, and the CPU (threads) each ran on:', '']
    lines += [f"- `{r['file']}`: `{r['command']}` on {r['cpu'] or 'an unrecorded CPU'} ({r['threads'] or '?'} threads)"
              for r in runs]
    return '\n'.join(lines)

def plot_runs(runs:list[dict], name:str):
    "Validation accuracy after each epoch of `runs`, one line per file."
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for r in runs:
        acc = [e.get('accuracy') for e in r['per_epoch']]
        if any(a is not None for a in acc): ax.plot(range(1, len(acc)+1), [100*a for a in acc], marker='.', label=r['file'])
    ax.set(title=f'{name}: validation accuracy per epoch (bench/results)', xlabel='epoch', ylabel='accuracy (%)')
    ax.grid(alpha=.3); ax.legend(fontsize=8, loc='lower right')
    return fig

def show_recipe_results(*names:str):
    "Display, for each recipe in `names`, its recorded full runs: a table, their commands and CPUs, and the accuracy curves."
    from IPython.display import Markdown, display
    for name in names:
        runs = recipe_runs(name)
        display(Markdown(results_markdown(runs, name)))
        if any(r['per_epoch'] for r in runs):
            import matplotlib.pyplot as plt
            fig = plot_runs(runs, name)
            display(fig); plt.close(fig)
