"Helpers shared by the benchmark scripts."
import platform
from pathlib import Path

def cpu_model() -> str:
    "The CPU's model name, from /proc/cpuinfo where there is one."
    info = Path('/proc/cpuinfo')
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    return platform.processor()

import json, time
from fastai.callback.core import Callback

class EpochTimer(Callback):
    "Wall time of each epoch, and the time since `t0` (the start of the whole command) at the end of each epoch."
    order = 100
    def __init__(self, t0:float|None=None): self.t0 = t0
    def before_fit(self):
        self.times, self.elapsed = [], []
        if self.t0 is None: self.t0 = time.time()
    def before_epoch(self): self.start = time.time()
    def after_epoch(self):
        now = time.time()
        self.times.append(now - self.start); self.elapsed.append(now - self.t0)

def versions() -> dict:
    import fastai, torch, resnet_fa
    return dict(resnet_fa=resnet_fa.__version__, fastai=fastai.__version__, torch=torch.__version__,
                python=platform.python_version(), threads=torch.get_num_threads(), cpu=cpu_model())

def epoch_rows(learn, timer) -> list[dict]:
    "One dict per epoch: the recorder's metrics, the epoch's wall time and the time since the command started."
    names = learn.recorder.metric_names[1:-1]
    return [dict(epoch=i, **dict(zip(names, map(float, v))), epoch_seconds=round(t, 1), elapsed_seconds=round(e, 1))
            for i, (v, t, e) in enumerate(zip(learn.recorder.values, timer.times, timer.elapsed))]

def time_to(rows, accuracy:float, key:str='accuracy'):
    "Seconds since the start of the command until the first epoch at or above `accuracy` (None if never)."
    return next((r['elapsed_seconds'] for r in rows if r[key] >= accuracy), None)

def write_result(path, result:dict):
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + '\n')
    print(f"-> {path}")
