"""What a GPU run must show, in one command of at most 8 minutes on one GPU (issue #28, item 6).

    python bench/gpu_check.py --device cuda --data ../shared/data/cifar10.tgz
    python bench/gpu_check.py --device cpu --smoke      # the plumbing, here, in about a minute (tests/test_bench_smoke.py)

Checks, each recorded with its time (or why it was skipped):
- `precision`: resnet_fa's learner trains with mixed precision (fp16 autocast on CUDA, bf16 on a CPU) and with fp32;
  the first conv's output has the expected dtype, and is channels_last (`ChannelsLast`) where resnet_fa uses it;
- `compile`: `torch.compile` (inductor; `aot_eager` in a CPU smoke run, which skips the C++ code generation) of a
  ResNet-20 training step gives eager's gradients; compile time apart from the steady step time, eager and compiled
  steps interleaved; through `resnet_learner(compile=True)` too where resnet_fa has that option;
- `ddp`: `resnet_fa train` under `torchrun` on every GPU found, NCCL (skipped, with a message, below two GPUs);
- `vs_airbench`: `cifar10-speed` against airbench94 side by side (bench/vs_airbench.py's runs: same split, same
  epochs, both at airbench94's batch of 1024), on all of CIFAR-10's training split on a GPU (a tiny subset, one
  epoch, batch 64 in a smoke run).
Writes bench/results/gpu_check-<device>[-smoke].json.
"""
import argparse, inspect, json, shutil, subprocess, sys, tempfile, time, traceback, warnings
from pathlib import Path
from _common import command_line, versions, write_result, loadavg, subset_folder, set_device   # bench/ is on sys.path
warnings.filterwarnings('ignore')

def _sync(device):
    import torch
    if device.startswith('cuda'): torch.cuda.synchronize()

def check_precision(device:str, smoke:bool) -> dict:
    "Mixed precision and fp32 through `resnet_learner`, on random images: dtype and memory format inside the model."
    import torch
    from fastai.data.core import DataLoaders
    from resnet_fa.learner import resnet_learner
    torch.manual_seed(0)
    n = 32 if smoke else 512
    ds = [(torch.randn(3, 32, 32), torch.tensor(i % 10)) for i in range(n)]
    dls = DataLoaders.from_dsets(ds[:n*3//4], ds[n*3//4:], bs=16 if smoke else 128, device=device)
    out = {}
    for precision in ('fp16' if device.startswith('cuda') else 'bf16', 'fp32'):
        learn = resnet_learner(dls, 'resnet20', n_out=10, precision=precision)
        seen = {}
        hook = learn.model.conv1.register_forward_hook(lambda m, i, o: seen.update(
            dtype=str(o.dtype).replace('torch.', ''), channels_last=o.is_contiguous(memory_format=torch.channels_last)))
        t = time.time()
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 0.05)
        hook.remove()
        loss = float(learn.recorder.losses[-1])
        out[precision] = dict(seen, final_loss=round(loss, 4), seconds=round(time.time() - t, 1),
                              ok=bool(torch.isfinite(torch.tensor(loss))))
    mixed = out['fp16' if device.startswith('cuda') else 'bf16']
    ok = (mixed['ok'] and out['fp32']['ok'] and mixed['dtype'] in ('float16', 'bfloat16')
          and out['fp32']['dtype'] == 'float32' and mixed['channels_last'])
    return dict(ok=ok, **out)

def check_compile(device:str, smoke:bool) -> dict:
    "torch.compile of a ResNet-20 training step: the same gradients as eager, compile time, step times interleaved."
    import torch, torch._dynamo
    from resnet_fa.models import create_model
    backend = 'aot_eager' if smoke and device == 'cpu' else 'inductor'
    torch.manual_seed(0)
    model = create_model('resnet20', n_out=10).to(device).to(memory_format=torch.channels_last)
    x = torch.randn(8 if smoke else 256, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (len(x),), device=device)
    torch._dynamo.reset(); torch._dynamo.utils.counters.clear()
    compiled = torch.compile(model, backend=backend)
    def step(m):
        m.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(m(x), y).backward()
        _sync(device)
        return [p.grad.clone() for p in model.parameters()]
    model.eval()   # BatchNorm in eval mode: both see the same statistics
    eager = step(model)
    t = time.time(); comp = step(compiled); compile_seconds = time.time() - t
    graph_breaks = sum(torch._dynamo.utils.counters['graph_break'].values())
    worst = max(float((a - b).norm() / (b.norm() + 1e-12)) for a, b in zip(comp, eager))
    times = {'eager': [], 'compiled': []}
    for _ in range(1 if smoke else 5):   # interleaved: eager, compiled, eager, compiled...
        for name, m in (('eager', model), ('compiled', compiled)):
            t = time.time(); step(m); times[name].append(time.time() - t)
    res = dict(backend=backend, graph_breaks=graph_breaks, compile_seconds=round(compile_seconds, 2),
               step_seconds={k: round(min(v), 4) for k, v in times.items()}, max_relative_grad_difference=worst,
               ok=graph_breaks == 0 and worst < 1e-3)
    from resnet_fa.learner import resnet_learner
    import resnet_fa.callbacks
    if 'compile' in inspect.signature(resnet_learner).parameters and hasattr(resnet_fa.callbacks, 'TorchCompile'):
        from fastai.data.core import DataLoaders
        ds = [(torch.randn(3, 32, 32), torch.tensor(i % 10)) for i in range(32)]
        dls = DataLoaders.from_dsets(ds[:24], ds[24:], bs=8, device=device)
        # resnet_learner(compile=True) is TorchCompile() with inductor; the smoke run swaps in the same backend as above
        kw = (dict(cbs=[resnet_fa.callbacks.TorchCompile(backend=backend)]) if backend != 'inductor'
              else dict(compile=True))
        learn = resnet_learner(dls, 'resnet20', n_out=10, **kw)
        t = time.time()
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 0.05)
        cb = next(c for c in learn.cbs if isinstance(c, resnet_fa.callbacks.TorchCompile))
        res['learner_compile'] = dict(seconds=round(time.time() - t, 1), final_loss=float(learn.recorder.losses[-1]),
                                      compiled=bool(cb.compiled), compile_seconds=round(cb.compile_time, 2),
                                      fallback=cb.fallback, backend=backend)
        res['ok'] = res['ok'] and bool(cb.compiled) and cb.fallback is None
    else: res['learner_compile'] = 'skipped: this resnet_fa has no resnet_learner(compile=True) yet'
    return res

def check_ddp(device:str, data, tmp:Path, smoke:bool) -> dict:
    "`resnet_fa train` under torchrun on every GPU, NCCL; skipped with fewer than two GPUs."
    import torch
    n = torch.cuda.device_count() if device.startswith('cuda') else 0
    if n < 2: return dict(ok=None, skipped=f"DDP with NCCL needs at least two GPUs; found {n} (device {device}).")
    cli = shutil.which('resnet_fa') or sys.exit('the resnet_fa console script is not on PATH')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={n}', cli, 'train',
           '--data', str(data), '--recipe', 'cifar10-speed', '--epochs', '1', '--out', str(tmp/'ddp')]
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    results = tmp/'ddp'/'results.json'
    config = json.loads((tmp/'ddp'/'config.json').read_text()) if (tmp/'ddp'/'config.json').exists() else {}
    return dict(ok=p.returncode == 0 and results.exists(), gpus=n, command=' '.join(cmd), returncode=p.returncode,
                seconds=round(time.time() - t, 1), distributed=config.get('distributed'),
                metrics=json.loads(results.read_text()).get('metrics') if results.exists() else None,
                stderr_tail=p.stderr[-2000:] if p.returncode else '')

def check_vs_airbench(device:str, data, tmp:Path, smoke:bool, epochs:int) -> dict:
    "cifar10-speed and airbench94 side by side: bench/vs_airbench.py's two runs, same split and epochs."
    from vs_airbench import run_airbench, run_ours, summary
    # both at airbench94's batch of 1024, the faster one on a GPU (cifar10-speed takes 256 for a CPU; its notes say
    # --bs 1024 --lr 1.5 on a GPU); the smoke run's batch of 64 tests the plumbing only
    ours = dict(bs=64) if smoke else dict(bs=1024, lr=1.5)
    runs = [run_airbench(data, epochs, 0, device, bs=ours['bs']), run_ours(data, epochs, 0, tmp/'ours', ours, precision='auto')]
    for r in runs: r.pop('settings', None); r.setdefault('seed', 0)
    return dict(ok=all(0 <= r['final_accuracy'] <= 1 for r in runs), epochs=epochs, bs=ours['bs'], resnet_fa_settings=ours,
                runs=runs, summary=summary(runs))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', default='cuda', help="'cuda' or 'cpu'")
    p.add_argument('--data', default='../shared/data/cifar10.tgz', help='CIFAR-10 folder or .tgz archive')
    p.add_argument('--smoke', action='store_true', help='a tiny subset, one epoch, batch 64: the plumbing only')
    p.add_argument('--epochs', type=int, default=None, help='epochs of the side-by-side runs (default 10; 1 with --smoke)')
    p.add_argument('--threads', type=int, default=2, help='CPU threads')
    p.add_argument('--skip', nargs='*', default=[], choices=['precision', 'compile', 'ddp', 'vs_airbench'])
    p.add_argument('--out', default=None)
    a = p.parse_args()
    set_device(a.device)
    import torch
    torch.set_num_threads(a.threads)
    start = time.time()
    name = f"gpu_check-{a.device.split(':')[0]}" + ('-smoke' if a.smoke else '')
    out = Path(a.out or Path(__file__).parent/'results'/f'{name}.json')
    res = dict(command=command_line(), device=a.device, smoke=a.smoke, versions=versions(), loadavg_start=loadavg(),
               gpus=[torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if a.device != 'cpu' else [],
               checks={})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = subset_folder(a.data, tmp/'cifar10', 20 if a.smoke else 5000, folders=['train'])
        todo = dict(precision=lambda: check_precision(a.device, a.smoke),
                    compile=lambda: check_compile(a.device, a.smoke),
                    ddp=lambda: check_ddp(a.device, data, tmp, a.smoke),
                    vs_airbench=lambda: check_vs_airbench(a.device, data, tmp, a.smoke, a.epochs or (1 if a.smoke else 10)))
        for k, fn in todo.items():
            if k in a.skip: res['checks'][k] = dict(ok=None, skipped='--skip'); continue
            t = time.time()
            try: r = fn()
            except Exception as e: r = dict(ok=False, error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-3000:])
            r['check_seconds'] = round(time.time() - t, 1)
            res['checks'][k] = r
            print(f"{k}: {'skipped: ' + r['skipped'] if r.get('skipped') else ('ok' if r['ok'] else 'FAILED')} "
                  f"({r['check_seconds']} s)", flush=True)
            write_result(out, res)
    res.update(total_seconds=round(time.time() - start, 1), loadavg_end=loadavg(),
               ok=all(c['ok'] is not False for c in res['checks'].values()))
    res['within_budget'] = res['total_seconds'] <= (60 if a.smoke else 480)
    write_result(out, res)
    print(f"{'all checks passed' if res['ok'] else 'SOME CHECKS FAILED'} in {res['total_seconds']} s")
    return 0 if res['ok'] else 1

if __name__ == '__main__': sys.exit(main())
