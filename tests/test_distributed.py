"Two CPU processes (gloo on loopback) training through the `resnet_fa` CLI under `torchrun` and `accelerate launch`."
import json, os, re, shutil, socket, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest

CLASSES = ['airplane', 'automobile', 'bird']
N_VALID = 3*17   # odd: the last of the 2 processes gets a padded share, which must not be counted

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def launch(launcher, *args, cwd=None, timeout=240):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'NO_ALBUMENTATIONS_UPDATE': '1', 'MPLBACKEND': 'Agg'}
    return subprocess.run([*launcher, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)

def torchrun():
    return [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
            '--master_port', str(free_port()), '--no-python', 'resnet_fa']

def accelerate_launch():
    # `--multi_gpu` only means "start N processes with torchrun": resnet_fa picks gloo because there is no GPU
    # (`--cpu` would start a single process: Accelerate's multi-CPU mode needs MPI)
    return [str(Path(sys.executable).parent/'accelerate'), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
            '--mixed_precision', 'no', '--dynamo_backend', 'no', '--main_process_ip', '127.0.0.1',
            '--main_process_port', str(free_port()), '--no_python', 'resnet_fa']

def checksums(stdout) -> dict:
    return {int(r): h for r, h in re.findall(r'process (\d)/2: weights sha256 ([0-9a-f]{64})', stdout)}

def saved_checksum(run):
    from resnet_fa.callbacks import load_safetensors
    from resnet_fa.models import create_model
    from resnet_fa.distributed import weights_checksum
    model = create_model('resnet20', n_out=len(CLASSES))
    load_safetensors(model, run/'model.safetensors')
    return weights_checksum(model)

@pytest.fixture(scope='module')
def data(cifar_subset):
    "CIFAR layout: train/ and test/ (the validation set) with 17 test images per class."
    path = cifar_subset(40, 17, CLASSES)
    if not (path/'test').exists(): (path/'valid').rename(path/'test')
    return path

# `--recipe folder`: validate on test/ (a CIFAR-layout folder would otherwise get cifar10-onecycle's 10% hold-out)
TRAIN = ['train', '--recipe', 'folder', '--arch', 'resnet20', '--size', 16, '--bs', 32, '--precision', 'fp32', '--quiet']

@pytest.fixture(scope='module')
def ddp_run(data, tmp_path_factory):
    "2 epochs on 2 processes, without --out: the processes must agree on the timestamped run folder."
    cwd = tmp_path_factory.mktemp('torchrun')
    res = launch(torchrun(), *TRAIN, '--data', data, '--epochs', 2, cwd=cwd)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    runs = list((cwd/'runs').iterdir())
    assert len(runs) == 1, runs
    return runs[0], res.stdout

def test_processes_end_with_identical_weights(ddp_run):
    run, stdout = ddp_run
    sums = checksums(stdout)
    assert sorted(sums) == [0, 1], stdout[-2000:]
    assert sums[0] == sums[1] == saved_checksum(run)

def test_one_set_of_files_written_by_the_main_process(ddp_run):
    run, stdout = ddp_run
    files = sorted(str(p.relative_to(run)) for p in run.rglob('*'))
    assert files == sorted(['checkpoints', 'checkpoints/resume.pth', 'config.json', 'metrics.csv', 'results.json', 'model.safetensors',
                            'export.pkl', 'loss.png', 'confusion_matrix.png', 'top_losses.png', 'gradcam.png',
                            *(f'{t}.{e}' for t in ('per_class', 'summary', 'most_confused') for e in ('csv', 'md'))]), files
    assert stdout.count('validation accuracy:') == 1 and stdout.count('Run folder:') == 2   # at the start and the end, rank 0 only
    assert list(pd.read_csv(run/'metrics.csv').epoch) == [0, 1]
    dist = json.loads((run/'config.json').read_text())['distributed']
    assert dist['processes'] == 2 and dist['backend'] == 'gloo' and dist['bs_global'] == 32 and dist['bs_per_process'] == 16

def test_validation_counts_every_image_once(ddp_run, cli, tmp_path):
    run, _ = ddp_run
    assert pd.read_csv(run/'per_class.csv', index_col=0).loc[CLASSES, 'support'].sum() == N_VALID
    final = json.loads((run/'results.json').read_text())['metrics']       # rank 0 alone, after training
    last_epoch = pd.read_csv(run/'metrics.csv').iloc[-1]                  # gathered from both processes during training
    correct = final['accuracy'] * N_VALID
    assert abs(correct - round(correct)) < 1e-4
    assert abs(last_epoch.accuracy - final['accuracy']) < 1e-6
    assert abs(last_epoch.valid_loss - final['valid_loss']) < 1e-4
    res = subprocess.run([cli, 'eval', run, '--protocols', 'center', '--out', tmp_path/'eval'], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    center = pd.read_csv(tmp_path/'eval'/'eval.csv', index_col=0).loc['center']
    assert center.n == N_VALID and abs(center.top1 - final['accuracy']) < 1e-6

def test_resume_needs_the_same_number_of_processes(ddp_run, cli):
    run, _ = ddp_run
    res = subprocess.run([cli, 'train', '--resume', '--out', run], capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and 'Traceback' not in res.stderr
    assert 'trained on 2 process(es), not 1' in res.stderr and 'torchrun --nproc_per_node 2' in res.stderr

def test_resume_under_torchrun(ddp_run, tmp_path):
    "A finished 2-process run resumed by 2 processes: every process loads rank 0's state, nothing is trained twice."
    run, stdout = ddp_run
    copy = shutil.copytree(run, tmp_path/'run')
    res = launch(torchrun(), 'train', '--resume', '--quiet', '--out', copy)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert res.stdout.count('Resuming') == 1
    assert checksums(res.stdout) == checksums(stdout)

def test_accelerate_launch(data, tmp_path):
    res = launch(accelerate_launch(), *TRAIN, '--data', data, '--epochs', 1, '--out', tmp_path/'acc')
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    sums = checksums(res.stdout)
    assert sorted(sums) == [0, 1] and sums[0] == sums[1] == saved_checksum(tmp_path/'acc')
    dist = json.loads((tmp_path/'acc'/'config.json').read_text())['distributed']
    assert dist['processes'] == 2 and dist['backend'] == 'gloo'

def test_bad_input_under_torchrun(data, tmp_path):
    "SyncBatchNorm on CPUs, or a batch the processes cannot share: a clear message, before any run folder is made."
    for args, needle in ((['--sync-bn'], '--sync-bn needs GPUs'), (['--bs', 33], 'must divide evenly among the 2 processes')):
        res = launch(torchrun(), 'train', '--data', data, '--size', 16, '--quiet', *args, '--out', tmp_path/'r', timeout=120)
        assert res.returncode != 0
        assert needle in res.stderr and not re.search(r'\[rank\d\]: Traceback', res.stderr)   # the processes end cleanly
        assert not (tmp_path/'r').exists()
