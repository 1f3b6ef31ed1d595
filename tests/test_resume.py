"""Resume after `kill -9`: training processes are really killed (between epochs, and in the middle of a
checkpoint write), resumed in a new process, and compared with a run that was never interrupted.

This file is also the child script: `python tests/test_resume.py train DATA RUN [--resume] [--slow N] [--hang-on-write N]`
trains a tiny CNN for 4 epochs on the CIFAR-10 subset in DATA with `TopKCheckpoints` and `ResumeCheckpoint`,
and `python tests/test_resume.py write-loop FOLDER` forks processes that write checkpoints atomically in a loop."""
import json, os, random, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest

N_EPOCH, LR = 4, 1e-2
HERE = Path(__file__).resolve()
ENV = {**os.environ, 'NO_ALBUMENTATIONS_UPDATE': '1', 'PYTHONWARNINGS': 'ignore', 'MPLBACKEND': 'Agg',
       'PYTHONPATH': os.pathsep.join([str(HERE.parents[1]), os.environ.get('PYTHONPATH', '')])}

# ---- the child processes ----------------------------------------------------------------------------

def train(data, run, resume=False, slow=0., hang_on_write=None):
    "Train the tiny CNN; `slow` seconds of sleep per batch widen the window for a kill; `hang_on_write` hangs in that epoch's resume write."
    import torch
    from torch import nn
    from fastai.vision.data import ImageDataLoaders
    from fastai.vision.augment import Flip
    from fastai.learner import Learner
    from fastai.layers import ConvLayer
    from fastai.metrics import accuracy
    from fastai.callback.core import Callback
    import fastai.callback.schedule  # fit_one_cycle
    from resnet_fa.core import seed_everything
    from resnet_fa.callbacks import TopKCheckpoints, ResumeCheckpoint, save_safetensors
    torch.set_num_threads(1)
    run = Path(run)
    if hang_on_write is not None:
        # Stop between the complete temporary file and its rename, then hang until killed
        real_replace, writes = os.replace, []
        def hanging_replace(src, dst):
            if str(dst).endswith('resume.pth'):
                writes.append(dst)
                if len(writes) == hang_on_write + 1:
                    (run/'hanging').write_text(str(src)); time.sleep(600)
            return real_replace(src, dst)
        os.replace = hanging_replace
    seed_everything(0)
    dls = ImageDataLoaders.from_folder(data, valid='valid', bs=32, num_workers=0, batch_tfms=Flip())
    model = nn.Sequential(ConvLayer(3, 16, stride=2), ConvLayer(16, 32, stride=2), ConvLayer(32, 64, stride=2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, dls.c))
    learn = Learner(dls, model, metrics=accuracy, path=run, model_dir='.', cbs=TopKCheckpoints(k=2))
    class Slow(Callback):
        def after_batch(self): time.sleep(slow)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(N_EPOCH, LR, cbs=[ResumeCheckpoint(resume=resume)] + ([Slow()] if slow else []))
    learn.remove_cb(TopKCheckpoints)
    save_safetensors(learn, run/'final.safetensors')
    (run/'final.json').write_text(json.dumps(dict(values=[list(map(float, v)) for v in learn.recorder.values], lrs=list(map(float, learn.recorder.lrs)),
                                                  topk=json.loads((run/'model_topk.json').read_text())['checkpoints'])))

def write_loop(folder, rounds=8):
    "For each round, fork a process that atomically writes 4 MB checkpoints (every value the write's number) until it is killed."
    import torch
    from resnet_fa.callbacks import atomic_torch_save
    torch.set_num_threads(1)
    folder = Path(folder)
    for r in range(rounds):  # forking saves importing torch and fastai once per round
        path = folder/f'ckpt{r}.pth'
        parent, pid = os.getpid(), os.fork()
        if pid == 0:
            for i in range(10**6):
                if os.getppid() != parent: os._exit(1)  # the test failed and killed our parent: stop too
                atomic_torch_save({'i': i, 'w': torch.full((1_000_000,), float(i))}, path)
                if i == 0: Path(str(path)+'.done').touch()
        (folder/f'ckpt{r}.pid.tmp').write_text(str(pid)); os.replace(folder/f'ckpt{r}.pid.tmp', folder/f'ckpt{r}.pid')
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

if __name__ == '__main__':
    cmd, *args = sys.argv[1:]
    if cmd == 'write-loop': write_loop(Path(args[0]))
    else:
        opt = lambda name, default=None: args[args.index(name)+1] if name in args else default
        train(Path(args[0]), Path(args[1]), resume='--resume' in args, slow=float(opt('--slow', 0)),
              hang_on_write=None if opt('--hang-on-write') is None else int(opt('--hang-on-write')))
    sys.exit(0)

# ---- the tests ---------------------------------------------------------------------------------------

import torch
from resnet_fa.callbacks import load_safetensors

@pytest.fixture(scope='module')
def data(cifar_subset):
    "20 training and 6 validation CIFAR-10 images per class, linked into a temporary folder."
    return cifar_subset(20, 6)

_children = []
@pytest.fixture(autouse=True)
def kill_leftovers():
    "A failed test must not leave a hanging child behind."
    yield
    while _children:
        p = _children.pop()
        if p.poll() is None: p.kill(); p.wait()

def start(*args, track=True):
    proc = subprocess.Popen([sys.executable, str(HERE), *map(str, args)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if track: _children.append(proc)
    return proc

@pytest.fixture(scope='module')
def reference(data, tmp_path_factory):
    "A run that is never interrupted, started at once (it trains beside the first victim) and awaited on first use."
    run = tmp_path_factory.mktemp('full')
    proc = start('train', data, run, track=False)
    def done():
        if proc.returncode is None: finish(proc)
        return run
    yield done
    if proc.poll() is None: proc.kill(); proc.wait()

def finish(proc, timeout=120):
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err.decode()[-3000:]

def wait_for(cond, proc, timeout=90):
    t0 = time.time()
    while not cond():
        assert proc.poll() is None, f"the child ended before it could be killed: {proc.stderr.read().decode()[-3000:]}"
        assert time.time()-t0 < timeout, 'timed out waiting for the child'
        time.sleep(0.02)

def kill(proc):
    proc.send_signal(signal.SIGKILL); proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

def saved_epoch(run):
    "The last epoch recorded in `run`'s resume state, or -1."
    try: return torch.load(run/'resume.pth', weights_only=True)['epoch']
    except FileNotFoundError: return -1

def results(run):
    from safetensors.torch import load_file
    return json.loads((run/'final.json').read_text()), load_file(run/'final.safetensors')

def assert_same_run(a, b):
    (ra, wa), (rb, wb) = results(a), results(b)
    assert len(ra['values']) == len(rb['values']) == N_EPOCH
    va, vb = np.array(ra['values']), np.array(rb['values'])
    np.testing.assert_allclose(va[:, :2], vb[:, :2], atol=1e-4)  # train and valid loss
    np.testing.assert_array_equal(va[:, 2], vb[:, 2])             # identical accuracy
    np.testing.assert_allclose(ra['lrs'], rb['lrs'])              # the same schedule, batch by batch
    assert [e['epoch'] for e in ra['topk']] == [e['epoch'] for e in rb['topk']]
    for k in wa: torch.testing.assert_close(wa[k], wb[k], atol=1e-4, rtol=1e-4, msg=k)

def test_resume_after_kill_between_epochs(data, reference, tmp_path):
    victim = start('train', data, tmp_path/'killed', '--slow', 0.1)
    wait_for(lambda: saved_epoch(tmp_path/'killed') >= 1, victim)  # the 2nd epoch is saved
    kill(victim)
    assert saved_epoch(tmp_path/'killed') in (1, 2) and not (tmp_path/'killed'/'final.json').exists()
    finish(start('train', data, tmp_path/'killed', '--resume'))
    assert_same_run(tmp_path/'killed', reference())
    assert not list((tmp_path/'killed').glob('.*.partial'))

def test_resume_after_kill_during_checkpoint_write(data, reference, tmp_path):
    run = tmp_path/'killed'
    victim = start('train', data, run, '--hang-on-write', 2)
    wait_for(lambda: (run/'hanging').exists(), victim)  # the 3rd epoch's state is written, not yet renamed
    partial = Path((run/'hanging').read_text())
    assert partial.exists() and partial.name.startswith('.resume.pth.') and partial.suffix == '.partial'
    kill(victim)
    assert saved_epoch(run) == 1  # the previous complete state, untouched
    finish(start('train', data, run, '--resume'))
    assert not partial.exists()  # the resumed run cleaned up the killed write
    assert_same_run(run, reference())

def test_kill_at_random_moments_never_leaves_a_partial_file(tmp_path):
    "Processes writing checkpoints in a loop are killed at random moments: the file on disk is always one complete write."
    rng, mid_write = random.Random(0), 0
    proc = start('write-loop', tmp_path)
    for r in range(8):   # 8 rounds: with 3, no kill landed mid-write in two CI runs on a fast disk
        f = tmp_path/f'ckpt{r}.pth'
        wait_for(lambda: Path(str(f)+'.done').exists() and (tmp_path/f'ckpt{r}.pid').exists(), proc)  # one complete file exists
        time.sleep(rng.uniform(0.05, 0.5))
        os.kill(int((tmp_path/f'ckpt{r}.pid').read_text()), signal.SIGKILL)
        time.sleep(0.2)  # let the writer die before looking at its files
        mid_write += bool(list(tmp_path.glob(f'.ckpt{r}.pth.*.partial')))
        state = torch.load(f, weights_only=True)
        assert state['w'].shape == (1_000_000,) and bool((state['w'] == state['i']).all())
    finish(proc)  # the forking process saw each writer killed by SIGKILL
    assert mid_write >= 1  # at least one kill landed in the middle of a write
