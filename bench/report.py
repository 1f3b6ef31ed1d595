"""Write BENCHMARKS.md and its accuracy-versus-time plot from the JSON files in bench/results/.

    python bench/report.py

Nothing here measures anything: every number in BENCHMARKS.md comes from a results file, which names the
command that produced it. Run this after any benchmark and commit the JSON, the Markdown and the plot together.
"""
import json
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt

HERE = Path(__file__).parent
RESULTS, OUT, PLOT = HERE/'results', HERE.parent/'BENCHMARKS.md', HERE/'results'/'speed.png'

def load(name):
    p = RESULTS/f'{name}.json'
    return json.loads(p.read_text()) if p.exists() else None

def pct(x): return '-' if x is None else f'{100*x:.2f}%'
def minutes(s): return '-' if s is None else f'{s/60:.1f} min'
def settings_text(settings:dict) -> str: return ', '.join(f'`{k}={v}`' for k, v in settings.items())
def note_text(d:dict) -> str: return f" {d['note']}" if d.get('note') else ''

def speed_files(): return sorted(RESULTS.glob('speed-*.json'))

def run_named(res:dict, name:str) -> dict | None:
    "The run called `name` ('resnet_fa' or 'fastai') in a speed file's results, if it has one."
    return next((r for r in res['runs'] if r['name'] == name), None)

def speed_table(res:dict) -> list[str]:
    targets = sorted({k for r in res['runs'] for k in r.get('milestones', {})})
    head = ['run', 'epochs', 'accuracy', 'flip TTA', 'flip + shift TTA', 'wall time', 'images/s'] + [f'time to {float(t):.0%}' for t in targets]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|'*len(head)]
    for r in res['runs']:
        # the recipe's arch too: a recipe name can be given to a better set-up later (cifar10-speed was resnet9_half until 2026-12-02)
        arch = (r.get('settings') or {}).get('arch')
        label = (f"resnet_fa `{r['recipe']}`" + (f" ({arch})" if arch else '')) if r['name'] == 'resnet_fa' else 'fastai baseline (`vision_learner` resnet18)'
        cells = [label, str(len(r['per_epoch'])), pct(r['final_accuracy']), pct(r.get('flip_tta_accuracy')), pct(r.get('shift_tta_accuracy')),
                 minutes(r['wall_seconds']), f"{r['images_per_second']:,.0f}"] + [minutes(r['milestones'].get(t)) for t in targets]
        lines.append('| ' + ' | '.join(cells) + ' |')
    ours, base = run_named(res, 'resnet_fa'), run_named(res, 'fastai')
    if ours and base:
        lines += ['', f"Speed-up in images per second: {ours['images_per_second']/base['images_per_second']:.1f}x; accuracy "
                      f"{pct(ours['final_accuracy'])} against {pct(base['final_accuracy'])} "
                      f"in {minutes(ours['wall_seconds'])} against {minutes(base['wall_seconds'])}."]
    return lines

def plot_speed(files) -> bool:
    if not files: return False
    fig, axes = plt.subplots(1, len(files), figsize=(5.5*len(files), 4), squeeze=False)
    for ax, f in zip(axes[0], files):
        res = json.loads(f.read_text())
        for r in res['runs']:
            t = [0] + [e['elapsed_seconds']/60 for e in r['per_epoch']]
            acc = [None] + [100*e['accuracy'] for e in r['per_epoch']]
            ax.plot(t[1:], acc[1:], marker='o', ms=3, label='resnet_fa' if r['name'] == 'resnet_fa' else 'fastai baseline')
            if r.get('flip_tta_accuracy'):
                ax.plot([r['wall_seconds']/60], [100*r['flip_tta_accuracy']], marker='*', ms=10, ls='', label='resnet_fa + flip TTA')
            if r.get('shift_tta_accuracy'):
                ax.plot([r['wall_seconds']/60], [100*r['shift_tta_accuracy']], marker='P', ms=8, ls='', label='resnet_fa + flip and shift TTA')
        ax.set(title=f.stem, xlabel='minutes since the command started', ylabel='validation accuracy (%)')
        ax.grid(alpha=.3); ax.legend(loc='lower right')
    fig.tight_layout(); fig.savefig(PLOT, dpi=90); plt.close(fig)
    return True

def best_of(*accuracies) -> float:
    "A run's best reading among plain, flip TTA and flip + shift TTA (the CIFAR targets allow TTA; Imagewoof runs record none)."
    return max(a for a in accuracies if a is not None)

def recipe_tta(d:dict) -> tuple:
    "Flip and flip + shift TTA accuracy of a bench/train_recipe.py result (older files keep flip TTA at the top level)."
    metrics = d.get('final_metrics') or {}
    return metrics.get('accuracy_flip_tta', d.get('flip_tta_accuracy')), metrics.get('accuracy_shift_tta')

def ours(pattern) -> list[tuple[str, dict]]:
    "resnet_fa's run in each speed file matching `pattern`, with the file's name."
    return [(f.stem, r) for f in sorted(RESULTS.glob(pattern)) if (r := run_named(json.loads(f.read_text()), 'resnet_fa'))]

def ratio(x): return f'{x:.2f}x'

def target_row(target:str, bar:float, found:list[tuple[str, float, str]], fmt=pct) -> str:
    "One line of the summary: the best of `found` (file, value, detail) against `bar`."
    if not found: return f"| {target} | - | no result file | - |"
    name, value, detail = max(found, key=lambda x: x[1])
    return f"| {target} | {fmt(value)} ({detail}) | {name} | {'yes' if value >= bar else 'no'} |"

def baseline_lines() -> list[str]:
    "Issue #8's third target: resnet_fa and what a fastai user writes today, timed in one run, compared by time to 70%."
    lines = []
    for f in speed_files():
        res = json.loads(f.read_text())
        a, b = run_named(res, 'resnet_fa'), run_named(res, 'fastai')
        if not (a and b): continue
        t_a, t_b = a['milestones'].get('0.70'), b['milestones'].get('0.70')
        sooner = f"; 70% after {minutes(t_a)} against {minutes(t_b)}, {t_b/t_a:.1f}x sooner" if t_a and t_b else ''
        lines.append(f"- {f.stem}: resnet_fa {pct(a['final_accuracy'])} in {minutes(a['wall_seconds'])}, the fastai baseline "
                     f"{pct(b['final_accuracy'])} in {minutes(b['wall_seconds'])}{sooner}.")
    if not lines: return []
    return ["Issue #8's baseline, what a fastai user writes today (`vision_learner(dls, resnet18, pretrained=False)`, "
            "`aug_transforms`, `fit_one_cycle`), timed in the same run as resnet_fa:", ''] + lines + ['']

def gflops(x): return f'{x/1e9:,.1f}'

def peak_section() -> list[str]:
    "bench/hardware_peak.py: each recipe's training step against the machine's matmul peak, measured in one run."
    lines = []
    for f in sorted(RESULTS.glob('hardware_peak*.json')):
        d = json.loads(f.read_text())
        g = d['gemm']
        lines += [f"### {f.stem}", '', f"`{d['command']}`", '',
                  f"torch {d['versions']['torch']}, {d['threads']} thread(s), {d['cpu']}; peak: {g['n']} x {g['n']} "
                  f"{g['dtype']} matmul, median of {g['reps']}, measured before and after each recipe (GFLOP/s: "
                  f"{', '.join(gflops(x['median']) for x in d['peaks'])}). {d['notes']}", '',
                  '| recipe | model | batch | precision | GFLOP per image (fwd + bwd) | images/s | achieved GFLOP/s | '
                  'peak GFLOP/s | % of peak | % of peak, fwd + bwd time only | data / forward / backward / optimizer |',
                  '|---|---|---|---|---|---|---|---|---|---|---|']
        for r in d['recipes']:
            sh = r['share']
            split = ' / '.join(f"{100*sh[k]:.0f}%" for k in ('data', 'forward', 'backward', 'optimizer'))
            lines.append(f"| {r['recipe']} | {r['arch']} | {r['bs']} | {' + '.join(r['precision']) or 'fp32'} | "
                         f"{r['flops_per_image']/1e9:.2f} | {r['images_per_second']:,.0f} | {gflops(r['achieved_flops'])} | "
                         f"{gflops(r['peak_flops'])} | {r['percent_of_peak']:.1f}% | {r['compute_percent_of_peak']:.1f}% | "
                         f"{split} |")
        lines.append('')
    if not lines: return []
    return ['## % of peak', '', "Issue #28's hardware target: the training step's achieved FLOP/s (forward + backward FLOPs "
            "from torch's FlopCounterMode x images/s of the whole step) over the machine's matmul peak at the same threads.",
            ''] + lines

def batches_text(d:dict) -> str:
    "Each side's batch size (and resnet_fa's lr) in a vs-airbench file: the batch sets how many updates an epoch makes."
    ab = next((r for r in d['runs'] if r['name'] == 'airbench94'), {})
    ours = next((r.get('settings') or {} for r in d['runs'] if r['name'] == 'resnet_fa'), {})
    parts = ([f"airbench94 at batch {ab['bs']}"] if ab.get('bs') else []) + \
            ([f"resnet_fa at batch {ours['bs']} and lr {ours['lr']}"] if ours.get('bs') else [])
    return f" Batches: {'; '.join(parts)}." if parts else ''

def epochs_text(d:dict) -> str:
    "The epochs of each side of a vs-airbench file (`--ours-epochs` may give resnet_fa fewer)."
    ours = d.get('ours_epochs') or d['epochs']
    return f"{d['epochs']} epochs each" if ours == d['epochs'] else f"airbench94 {d['epochs']} epochs, resnet_fa {ours}"

def vs_airbench_section() -> list[str]:
    "bench/vs_airbench.py: airbench94 and cifar10-speed on the same subset and epochs, runs interleaved."
    lines = []
    for f in sorted(RESULTS.glob('vs-airbench94*.json')):
        d = json.loads(f.read_text())
        if not d.get('runs'): continue
        v = d['versions']
        lines += [f"### {f.stem}", '', f"`{d['command']}`", '',
                  f"torch {v['torch']}, fastai {v['fastai']}, {v['threads']} thread(s), {v['cpu']}; "
                  f"{d['per_class'] or 'all'} training images of each class (the last 10% of each held out), "
                  f"{epochs_text(d)}, seeds {', '.join(str(x) for x in sorted({r['seed'] for r in d['runs']}))}. "
                  f"{d['notes']}" + (f" Stopped early: {d['stopped']}." if d.get('stopped') else '') + batches_text(d), '',
                  '| run | seed | accuracy | flip TTA | flip + shift TTA | wall time | images/s |', '|---|---|---|---|---|---|---|']
        for r in d['runs']:
            lines.append(f"| {r['name']} | {r['seed']} | {pct(r['final_accuracy'])} | {pct(r['flip_tta_accuracy'])} | "
                         f"{pct(r.get('shift_tta_accuracy'))} | {minutes(r['wall_seconds'])} | {r['images_per_second']:,.0f} |")
        if not d.get('summary'):   # one side only (`--only`): an ablation, no ratios
            for name in sorted({r['name'] for r in d['runs']}):
                flips = [r['flip_tta_accuracy'] for r in d['runs'] if r['name'] == name]
                lines += ['', f"One side only (`--only`): {name}'s mean flip TTA over {len(flips)} seed(s) "
                              f"{pct(sum(flips)/len(flips))}.", '']
            continue
        s, q = d['summary'], d['summary']['ratio']
        a, b = s['airbench94'], s['resnet_fa']
        reach = ', '.join('not reached' if x is None else f'{x:.2f}x' for x in q['time_to_airbench_flip_tta_per_seed'])
        lines += ['', f"Means over {a['n']} seed(s): airbench94 {pct(a['flip_tta_accuracy'])} with flip TTA in "
                  f"{minutes(a['wall_seconds'])}, resnet_fa {pct(b['flip_tta_accuracy'])} in {minutes(b['wall_seconds'])}: "
                  f"wall time {q['wall_seconds']:.2f}x airbench94's, images/s {q['images_per_second']:.2f}x, "
                  f"flip TTA {q['flip_tta_points']:+.2f} points. Time for resnet_fa to reach airbench94's flip-TTA accuracy, "
                  f"over airbench94's wall time, per seed: {reach} (target: at most 0.8x).", '']
    if not lines: return []
    return ['## vs airbench94', '', "Issue #28's first target: both train on the same images for the same epochs. This "
            "shared 2-core CPU cannot run 3 seeds of 10 epochs on all of CIFAR-10 for each, so the 3-seed comparisons "
            "take a subset (the first N images of each class); a file on all the images has one seed.", ''] + lines

def targets_28() -> list[str]:
    "Issue #28's rows of the targets table."
    rows = []
    for f in sorted(RESULTS.glob('hardware_peak*.json')):
        d = json.loads(f.read_text())
        for r in d['recipes']:
            if r['recipe'] == 'cifar10-speed':
                rows.append(target_row('#28: cifar10-speed at least 60% of the matmul peak', 60,
                                       [(f.stem, r['percent_of_peak'], d['cpu'])], lambda x: f'{x:.1f}%'))
    for off, on in compile_pairs():
        if on['recipe'] != 'imagewoof-fastai': continue
        t = off['images_per_second'] / on['images_per_second']   # a step's time compiled over eager
        rows.append(f"| #28: imagewoof-fastai's step compiled in at most 0.6x its eager time | {t:.2f}x"
                    f"{compile_mode_text(on)} | profile-imagewoof-fastai(-compile-True) "
                    f"| {'yes' if t <= 0.6 else 'no'} |")
    for d in recipe_runs():   # the per-epoch validation's share of a speed recipe's wall time (train_recipe.py)
        valid = [e.get('valid_seconds') for e in d.get('per_epoch', [])]
        if not d['recipe'].startswith('cifar10-speed') or not valid or None in valid or d.get('superseded_by'): continue
        share = sum(valid) / d['wall_seconds']
        rows.append(f"| #28: per-epoch validation at most 5% of a speed recipe's wall time | {100*share:.1f}% "
                    f"({d['recipe']}) | {d['file']} | {'yes' if share <= 0.05 else 'no'} |")
    for f in sorted(RESULTS.glob('eval_speed-*.json')):
        d = json.loads(f.read_text())
        worst = max((r['get_preds_over_this'], k) for k, r in d['protocols'].items() if k != 'get_preds')
        rows.append(f"| #28: each eval protocol within 1.3x of get_preds per view | {worst[0]:.2f}x (slowest: "
                    f"{worst[1]}) | {f.stem} | {'yes' if worst[0] <= 1.3 else 'no'} |")
    for f in sorted(RESULTS.glob('vs-airbench94*.json')):
        d = json.loads(f.read_text())
        if not d.get('summary') or d.get('superseded_by'): continue   # an earlier layout's runs are not the target's
        found = [x for x in d['summary']['ratio']['time_to_airbench_flip_tta_per_seed'] if x is not None]
        n = len(d['summary']['ratio']['time_to_airbench_flip_tta_per_seed'])
        label = ("#28: airbench94's flip-TTA accuracy in at most 0.8x its time "
                 + (f"({d['per_class']} images a class)" if d['per_class'] else '(all images)'))
        if len(found) < n:
            rows.append(f"| {label} | not reached in {n - len(found)} of {n} seed(s) | {f.stem} | no |")
        else:
            mean = sum(found)/len(found)
            rows.append(f"| {label} | {mean:.2f}x (mean of {n} seed(s)) | {f.stem} | {'yes' if mean <= 0.8 else 'no'} |")
    return rows

def targets_section() -> list[str]:
    "The issues' speed and accuracy targets, each with the best result on file: the first thing a reader wants to know."
    onecycle = [(d['file'], best_of(d['final_accuracy'], *recipe_tta(d)), f"{d['epochs']} epochs") for d in recipe_runs()
                if d['recipe'] == 'cifar10-onecycle' and d['epochs'] <= 30]
    in30 = [(n, best_of(r['final_accuracy'], r.get('flip_tta_accuracy'), r.get('shift_tta_accuracy')),
             f"{len(r['per_epoch'])} epochs, {minutes(r['wall_seconds'])}") for n, r in ours('speed-cifar10*.json') if r['wall_seconds'] <= 30*60]
    woof = {e: [(n, r['final_accuracy'], minutes(r['wall_seconds'])) for n, r in ours(f'speed-imagewoof-{e}*.json')] for e in (5, 20)}
    rows = [target_row('#5: one-cycle ResNet-20, 91.25% in at most 30 epochs', 0.9125, onecycle)]
    for f in sorted(RESULTS.glob('loop_overhead*.json')):   # one row per model and per CPU: a best-of would hide a miss
        d = json.loads(f.read_text())
        rows.append(target_row("#5: resnet_learner at least 0.97 of a plain PyTorch loop's images/s", 0.97,
                               [(f.stem, d['ratio'], f"{d.get('arch', 'resnet20')}, {d['cpu']}")], ratio))
    for f in sorted(RESULTS.glob('cpu_precision*.json')):
        d = json.loads(f.read_text())
        rows.append(target_row('#5: the automatic CPU setting at least 2x fp32 (ResNet-20)', 2.0,
                               [(f.stem, d['results']['auto']['speedup_vs_fp32_best'], d['cpu'])], ratio))
    rows += [target_row('#8: CIFAR-10 94% in at most 30 minutes (bench/speed.py)', 0.94, in30),
             target_row("#8: Imagewoof after 5 epochs above the leaderboard's 76.61%", 0.7661, woof[5]),
             target_row("#8: Imagewoof after 20 epochs above the leaderboard's 86.27%", 0.8627, woof[20])]
    rows += targets_28()
    return (['## Targets at a glance', '', "Each speed and accuracy target of the project's issues with the best result on file, "
             'computed from the files below: accuracies on the hold-out splits, wall times on the CPU each file names.', '',
             '| target | best measured | file | reached |', '|---|---|---|---|'] + rows + [''] + context_lines() + baseline_lines())

def context_lines() -> list[str]:
    "What the published methods themselves reach on this data and split: the like-for-like bars for the targets above."
    lines = []
    if (d := load('cifar10-paper')):
        lines.append(f"- The ResNet paper's own schedule for ResNet-20 ({d['epochs']} epochs, cifar10-paper): {pct(d['final_accuracy'])}, "
                     f"best with TTA {pct(best_of(d['final_accuracy'], *recipe_tta(d)))}, against the paper's 91.25% on CIFAR-10's clean test set.")
    if (d := load('reference-airbench94')):
        lines.append(f"- airbench94 in plain PyTorch ({d['epochs']} epochs, reference-airbench94): {pct(d['final_accuracy'])}, "
                     f"best with TTA {pct(best_of(d['flip_tta_accuracy'], d['shift_tta_accuracy']))} in {minutes(d['wall_seconds'])}, "
                     "against its published 94.0% on the clean test set.")
    for n, r in ours('speed-imagewoof-5-arch-xresnet50*.json'):
        lines.append(f"- fastai's own leaderboard-style xresnet50 (Mish, self-attention; {n}): {pct(r['final_accuracy'])} after 5 epochs "
                     f"in {minutes(r['wall_seconds'])}; the leaderboard's 76.61% and 86.27% are 5-run means of a depthwise-separable "
                     "ResNet trained on all of the training split and measured on the official validation set.")
    return ['On this data (CIFAR-10 stored as JPEG at quality 75; Imagewoof validated on 10% of its training split):', ''] + lines + [''] if lines else []

def recipe_runs() -> list[dict]:
    "The results of bench/train_recipe.py: every file of a CIFAR recipe run, oldest first."
    runs = [json.loads(f.read_text()) | dict(file=f.stem) for f in RESULTS.glob('cifar10-*.json')]
    return sorted(runs, key=lambda d: d['file'])

def recipe_table(runs) -> list[str]:
    lines = ['## Recipe runs', '', 'By `bench/train_recipe.py`: the CLI\'s training path on the recipe\'s own hold-out split.', '',
             '| run | changed settings | precision | epochs | accuracy | flip TTA | flip + shift TTA | wall time | CPU |', '|---|---|---|---|---|---|---|---|---|']
    for d in runs:
        changed = settings_text(d.get('changed_settings') or {}) or '-'
        tta, shift = recipe_tta(d)
        lines.append(f"| {d['file']} | {changed} | {d.get('precision', 'auto')} | {d['epochs']} | {pct(d['final_accuracy'])} "
                     f"| {pct(tta)} | {pct(shift)} | {minutes(d.get('wall_seconds'))} | {d.get('cpu') or d['versions'].get('cpu', '-')} |")   # wall times are per CPU
    lines.append('')
    for d in runs:
        lines.append(f"- {d['file']}: `{d.get('command', 'python bench/train_recipe.py --recipe ' + d['recipe'])}`"
                     + note_text(d))
    return lines + ['']

def reference_table(files) -> list[str]:
    "bench/airbench_reference.py's runs: airbench94 outside resnet_fa, on the same hold-out as the CIFAR recipes."
    lines = ['## Reference: airbench94 in plain PyTorch on the same split', '',
             "airbench94's own training (94.0% on CIFAR-10's test set in 10 epochs) without fastai or resnet_fa, on the "
             "45,000/5,000 hold-out of the CIFAR recipes: what the best-known short recipe reaches on this copy of the data.", '',
             '| run | epochs | width | translation | accuracy | flip TTA | flip + shift TTA | wall time | images/s | CPU |',
             '|---|---|---|---|---|---|---|---|---|---|']
    runs = [json.loads(f.read_text()) | dict(file=f.stem) for f in files]
    for d in runs:
        lines.append(f"| {d['file']} | {d['epochs']} | {d['width']} | {d['translate']} px | {pct(d['final_accuracy'])} | "
                     f"{pct(d['flip_tta_accuracy'])} | {pct(d['shift_tta_accuracy'])} | {minutes(d['wall_seconds'])} | "
                     f"{d['images_per_second']:,.0f} | {d['versions']['cpu']} |")
    lines.append('')
    for d in runs: lines.append(f"- {d['file']}: `{d['command']}`" + note_text(d))
    return lines + ['']

def compile_mode_text(on:dict) -> str:
    "' (mode M)' for a compiled profile taken with a torch.compile mode other than the default, else ''."
    mode = on.get('compile', {}).get('mode')
    return f' (mode {mode})' if mode else ''

def compile_pairs() -> list[tuple[dict, dict]]:
    "(eager, compiled) bench/profile_step.py results of each recipe profiled both ways on one CPU."
    pairs = []
    for f in sorted(RESULTS.glob('profile-*-compile-True*.json')):   # -mode-M: another torch.compile mode
        on, off = json.loads(f.read_text()), load(f.stem.split('-compile-True')[0])
        if off and off['versions']['cpu'] == on['versions']['cpu']: pairs.append((off, on))   # a ratio only within one CPU
    return pairs

def compile_section() -> list[str]:
    "Training-step images/s with `compile=True` over without, from pairs of bench/profile_step.py files."
    rows = []
    for off, on in compile_pairs():
        rows.append(f"| {on['recipe']}{compile_mode_text(on)} | {off['images_per_second']:,.0f} | {on['images_per_second']:,.0f} | "
                    f"{on['images_per_second']/off['images_per_second']:.2f}x | {on.get('compile', {}).get('seconds', '-')} s |")
    if not rows: return []
    return ['## torch.compile on and off', '', "Issue #28's third target: each recipe's training step profiled by "
            "`python bench/profile_step.py --recipe R --data D --threads 2` without and with `--set compile=True` "
            "(inductor, the same CPU and data; compiling is timed apart, in the warm-up batches, and takes less when "
            "inductor's on-disk cache already holds some of the graphs).", '',
            '| recipe | images/s eager | images/s compiled | compiled / eager | compile time |', '|---|---|---|---|---|',
            *rows, '']

def eval_speed_section() -> list[str]:
    "bench/eval_speed.py: each evaluation protocol's views per second against fastai's get_preds."
    lines = []
    for f in sorted(RESULTS.glob('eval_speed-*.json')):
        d = json.loads(f.read_text())
        lines += [f"### {f.stem}", '', f"`{d['command']}` on {d['versions']['cpu']}: {d['arch']} at {d['size']} px, "
                  f"{d['images']} images, best of {d['repeats']}.", '',
                  '| protocol | views | seconds | views/s | get_preds views/s over this |', '|---|---|---|---|---|']
        lines += [f"| {k} | {r['views']:,.0f} | {r['seconds']:.2f} | {r['views_per_second']:,.1f} | "
                  f"{r['get_preds_over_this']:.2f}x |" for k, r in d['protocols'].items()] + ['']
    if not lines: return []
    return ['## Evaluation speed', '', "Issue #28's fourth target: `resnet_fa eval`'s protocols within 1.3x of fastai's "
            "`get_preds` per view (multi-scale views counted in crop-sized pixels).", ''] + lines

def other_sections() -> list[str]:
    lines = []
    if (d := load('data_pipeline')):
        lines += ['## Data pipeline', '', '`python bench/data_pipeline.py`', '', '```', json.dumps({k: d[k] for k in ('cifar10', 'imagewoof') if k in d}, indent=1), '```', '']
    for f in sorted(RESULTS.glob('cpu_precision*.json')):   # one file per CPU: the fast setting depends on the CPU
        d = json.loads(f.read_text())
        lines += [f"## CPU mixed precision (ResNet-20 training) on {d['cpu']}", '',
                  f"`{d.get('command', 'python bench/cpu_precision.py --threads 1')}`; automatic setting here: "
                  f"{' + '.join(d['auto_setting']) or 'fp32'}.", '', '| setting | images/s (best) | speed-up |', '|---|---|---|']
        lines += [f"| {k} | {v['images_per_s_best']:,.0f} | {v['speedup_vs_fp32_best']:.2f}x |" for k, v in d['results'].items()]
        lines.append('')
    if (d := load('bf16_gradients')):
        lines += ['## bf16 gradients at initialisation', '', f"`{d['command']}`", '',
                  '| model | zero-initialised residuals | cosine with the fp32 gradient | relative error |', '|---|---|---|---|']
        lines += [f"| {r['model']} | {'yes' if r['zero_init_residual'] else 'no'} | {r['cosine']:.3f} | {r['relative_error']:.3f} |" for r in d['rows']]
        lines.append('')
    for f in sorted(RESULTS.glob('loop_overhead*.json')):   # one file per model
        d = json.loads(f.read_text())
        lines += [f"## Training-loop overhead ({d.get('arch', 'resnet20')}, batch {d.get('bs', 128)})", '',
                  f"`{d.get('command', 'python bench/loop_overhead.py --threads 1')}` on {d['cpu']}", '',
                  f"resnet_learner {d['fastai_images_per_s']:,.0f} images/s against a plain PyTorch loop's "
                  f"{d['plain_images_per_s']:,.0f}: ratio {d['ratio']:.3f}." + note_text(d), '']
    for f in sorted(RESULTS.glob('profile-*.json')):
        d = json.loads(f.read_text())
        lines += [f"## Where a `{d['recipe']}` training step's time goes", '', f"`{d['command']}`", '',
                  '| phase | seconds | share |', '|---|---|---|']
        lines += [f"| {k} | {v:.2f} | {100*d['share'][k]:.1f}% |" for k, v in d['seconds'].items()]
        lines += ['', f"{d['batches']} batches of {d['bs']} on {d['versions']['cpu']}: {d['images_per_second']:,.0f} images/s "
                  "for the training step alone.", '']
        if d.get('settings'): lines += [f"The recipe with {settings_text(d['settings'])}.", '']
        if d.get('compile'):
            c = d['compile']
            lines += [f"Compiling took {c['seconds']:.1f} s, outside the timed batches" +
                      (f"; it fell back to eager: {c['fallback']}" if c.get('fallback') else '') + '.', '']
        if d.get('ops'):
            lines += ["The operators with the most time of their own (torch's profiler, a few more batches):", '',
                      '| operator | calls | seconds | share |', '|---|---|---|---|']
            lines += [f"| `{o['op']}` | {o['calls']} | {o['seconds']:.2f} | {100*o['share']:.1f}% |" for o in d['ops']] + ['']
        if d.get('note'): lines += [d['note'], '']
    lines += compile_section() + eval_speed_section()
    for f in sorted(RESULTS.glob('fastai-baseline-*.json')):   # a baseline measured alone, on a CPU of its own
        d = json.loads(f.read_text()); r = d['run']
        lines += [f"## {f.stem}", '', f"`{d['command']}` on {d['cpu']}: {pct(r['final_accuracy'])} after {r['epochs']} "
                  f"epoch(s) in {minutes(r['wall_seconds'])} ({r['images_per_second']:,.0f} images/s).", '', d['note'], '']
    if (refs := sorted(RESULTS.glob('reference-airbench94*.json'))): lines += reference_table(refs)
    if (runs := recipe_runs()): lines += recipe_table(runs)
    return lines

def main():
    files = speed_files()
    lines = ['# Benchmarks', '', 'Generated by `python bench/report.py` from `bench/results/*.json`; each file records the',
             'command, the settings, the versions and the CPU. Measured on this project\'s development machines: 2 CPU cores',
             '(each section names its CPU), no GPU. Do not edit by hand.', '',
             "Files written before 2026-12-02 name the CPU by its model name alone, and two generations were seen as 'AMD EPYC':",
             'one with AVX-512 BF16 (Zen 4; bf16 autocast about 2x fp32) and one without (Zen 3; fp32 only, 3-6x slower for',
             'ResNet-20, see the two CPU precision tables). Compare wall times only within one file.', '']
    lines += targets_section() + vs_airbench_section() + peak_section()
    if plot_speed(files): lines += ['## Time to accuracy', '', f'![accuracy against time]({PLOT.relative_to(OUT.parent)})', '']
    for f in files:
        res = json.loads(f.read_text())
        v = res['versions']
        lines += [f"### {f.stem}", '', f"`{res['command']}`", '', f"torch {v['torch']}, fastai {v['fastai']}, "
                  f"{v['threads']} thread(s), {v['cpu']}.", '']
        if res.get('changed_settings'):
            lines += [f"An ablation: the recipe with {settings_text(res['changed_settings'])}.", '']
        precisions = {r.get('precision') for r in res['runs'] if r['name'] == 'resnet_fa'} - {None, 'auto'}
        if precisions: lines += [f"resnet_fa's run trained in {', '.join(sorted(precisions))} (not the automatic bf16 autocast).", '']
        if res.get('baseline_command'): lines += [f"The baseline was trained again later: `{res['baseline_command']}`", '']
        lines += speed_table(res) + ['']
        if res.get('note'): lines += [res['note'], '']
        lines += [f"Flip + shift TTA of `{r['recipe']}` {r['shift_tta_note']}.\n" for r in res['runs'] if r.get('shift_tta_note')]
    lines += other_sections()
    OUT.write_text('\n'.join(lines).rstrip() + '\n')
    print(f"-> {OUT}" + (f", {PLOT}" if files else ''))

if __name__ == '__main__': main()
