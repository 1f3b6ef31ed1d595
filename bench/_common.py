"Helpers shared by the benchmark scripts."
import ast, platform, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tools'))   # the repository's sample-data helpers
from devdata import sample_data, subset_folder, pets_subset  # noqa: E402,F401 (used by the bench scripts through this module)

def cpu_model() -> str:
    """The CPU's model name, with its family/model numbers and vector extensions where /proc/cpuinfo has them.

    A virtual machine may call two CPU generations the same ('AMD EPYC'): Zen 3 has no bf16 instructions and Zen 4 has
    AVX-512 BF16, 3-6x apart in ResNet-20 training (results/cpu_precision*.json): compare wall times only when this whole string matches."""
    info = Path('/proc/cpuinfo')
    if not info.exists(): return platform.processor()
    fields = {}
    for line in info.read_text().splitlines():
        if not line.strip(): break   # the first processor's block is enough
        k, _, v = line.partition(':'); fields[k.strip()] = v.strip()
    flags = set(fields.get('flags', '').split())
    vector = [f for f in ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16') if f in flags]
    return (f"{fields.get('model name', platform.processor())} (family {fields.get('cpu family', '?')}, "
            f"model {fields.get('model', '?')}; {' '.join(vector) or 'no AVX2'})")

def loadavg():
    "The 1, 5 and 15-minute load averages, to show whether other jobs shared the machine during a timing."
    return Path('/proc/loadavg').read_text().split()[:3] if Path('/proc/loadavg').exists() else None

import json, time
from fastai.callback.core import Callback

class EpochTimer(Callback):
    "Each training epoch's metrics, wall time, and time since `t0` (the start of the whole command)."
    order = 100   # after the Recorder, so this epoch's values are in `recorder.values`
    def __init__(self, t0:float|None=None): self.t0, self.rows = t0, []
    # `Learner.validate` (run at the end by the CLI) fires before_fit/after_epoch too: only epochs that trained count
    def before_epoch(self): self.start, self.trained, self.valid_seconds = time.time(), False, 0.
    def after_train(self): self.trained = True
    def before_validate(self): self.valid_start = time.time()
    def after_validate(self): self.valid_seconds = time.time() - self.valid_start   # the per-epoch validation's cost
    def after_epoch(self):
        if not self.trained: return
        now = time.time(); self.t0 = self.t0 or self.start
        names = self.recorder.metric_names[1:-1]
        self.rows.append(dict(epoch=len(self.rows), **dict(zip(names, map(float, self.recorder.values[-1]))),
                              epoch_seconds=round(now - self.start, 1), elapsed_seconds=round(now - self.t0, 1),
                              valid_seconds=round(self.valid_seconds, 2)))
    @property
    def times(self): return [r['epoch_seconds'] for r in self.rows]

def train_module():
    "The module whose `train` is the function behind `resnet_fa train`: `resnet_fa.run` where it exists, else the CLI's."
    try: import resnet_fa.run as host
    except ImportError: import resnet_fa.cli as host
    return host

def train_timed(data, recipe, **kwargs):
    "`resnet_fa train`'s function with an `EpochTimer` in its fit: `(learn, run_folder, timer, wall_seconds)`."
    host = train_module()
    t0 = time.time(); timer = EpochTimer(t0)
    fit = host.fit_recipe
    # the timer goes in through train's own fit call, so the benchmark trains exactly what `resnet_fa train` does
    host.fit_recipe = lambda learn, recipe, **kw: (learn.add_cb(timer), fit(learn, recipe, **kw))[1]
    try: learn, run = host.train(data, recipe=recipe, quiet=True, **kwargs)
    finally: host.fit_recipe = fit
    return learn, run, timer, time.time() - t0

def add_device_arg(parser, default:str='cpu'):
    parser.add_argument('--device', default=default, help="'cpu' (the GPUs hidden) or 'cuda'")

def command_line() -> str:
    "The command that is running, as a user would type it from the repository's root."
    return ' '.join(['python', f'bench/{Path(sys.argv[0]).name}', *sys.argv[1:]])

def versions() -> dict:
    import fastai, torch, resnet_fa
    return dict(resnet_fa=resnet_fa.__version__, fastai=fastai.__version__, torch=torch.__version__,
                python=platform.python_version(), threads=torch.get_num_threads(), cpu=cpu_model())

def time_to(rows, accuracy:float, key:str='accuracy'):
    "Seconds since the start of the command until the first epoch at or above `accuracy` (None if never)."
    return next((r['elapsed_seconds'] for r in rows if r[key] >= accuracy), None)

def write_result(path, result:dict):
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + '\n')
    print(f"-> {path}")

def add_set_arg(parser):
    parser.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE',
                        help='change recipe settings for an ablation, e.g. --set zero_init_residual=True lr=8e-3')

def _literal(v:str):
    "A Python literal (`True`, `8e-3`, `'paper'`), or the text itself for a bare word such as `standard`."
    try: return ast.literal_eval(v)
    except (ValueError, SyntaxError): return v

def parse_settings(pairs) -> dict:
    "`KEY=VALUE` strings as a dict, each value a Python literal or a bare word."
    return {k: _literal(v) for k, v in (kv.split('=', 1) for kv in pairs)}

def _slug(v) -> str:
    "A setting's value as file-name text: a dict as its keys and values (`model_kwargs={'sa': True}` -> `sa-True`)."
    return '-'.join(f"{k}-{_slug(x)}" for k, x in v.items()) if isinstance(v, dict) else str(v)

def settings_suffix(settings:dict) -> str:
    "The part of a result file's name that says which settings an ablation changed."
    return ''.join(f"-{k}-{_slug(v)}" for k, v in settings.items())

def set_device(device:str):
    "Make `device` the one resnet_fa's `best_device` picks: 'cpu' hides the GPUs, 'cuda' requires one."
    import os, torch
    if device == 'cpu': os.environ['CUDA_VISIBLE_DEVICES'] = ''
    elif device.startswith('cuda') and not torch.cuda.is_available(): sys.exit(f"--device {device}: no CUDA GPU here.")
