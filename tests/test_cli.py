"End-to-end tests of the `resnet_fa` command: the demo run, sub-commands, and bad input."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
from PIL import Image

def run(cli, *args, timeout=900, **kw):
    return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kw)

def assert_user_error(res, *needles):
    "Exit status 2, one clear line on stderr, no traceback."
    assert res.returncode == 2, (res.returncode, res.stdout[-2000:], res.stderr[-2000:])
    assert 'Traceback' not in res.stderr
    msg = [l for l in res.stderr.splitlines() if l.startswith('resnet_fa: error:')]
    assert len(msg) == 1, res.stderr
    for n in needles: assert n in msg[0], msg[0]

def test_help(cli):
    res = run(cli, '--help')
    assert res.returncode == 0
    for cmd in ('train', 'lr-find', 'eval', 'interpret', 'models', 'recipes'): assert f'  {cmd} ' in res.stdout
    res = run(cli, 'train', '--help')
    assert res.returncode == 0
    for opt in ('--data', '--recipe', '--arch', '--epochs', '--lr', '--bs', '--size', '--out', '--seed', '--resume'):
        assert opt in res.stdout
    assert 'A dataset name' in res.stdout   # options come with their one-line explanations

def test_demo_run(cli, tmp_path):
    "The README's first command: `resnet_fa train` with no arguments trains ResNet-20 on the built-in digits."
    res = run(cli, 'train', '--out', tmp_path/'run', cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith('validation accuracy: '), last
    assert float(last.split(': ')[1]) >= 0.97
    run_dir = tmp_path/'run'
    for f in ('config.json', 'metrics.csv', 'model.safetensors', 'export.pkl', 'confusion_matrix.png', 'loss.png'):
        assert (run_dir/f).is_file() and (run_dir/f).stat().st_size > 0, f
    config = json.loads((run_dir/'config.json').read_text())
    assert config['recipe']['arch'] == 'resnet20' and config['data'] == 'digits'
    metrics = pd.read_csv(run_dir/'metrics.csv')
    assert len(metrics) == config['recipe']['epochs'] and 'accuracy' in metrics.columns

def test_bad_data_paths(cli, tmp_path):
    assert_user_error(run(cli, 'train', '--data', '/no/such/dir', '--out', tmp_path/'a'), 'No such folder', '/no/such/dir')
    empty = tmp_path/'empty'; (empty/'cats').mkdir(parents=True); (empty/'cats'/'notes.txt').write_text('no images')
    assert_user_error(run(cli, 'train', '--data', empty, '--out', tmp_path/'b'), 'image')

def test_offline_download_says_how_to_pass_a_local_copy(cli, tmp_path):
    env = {**os.environ, 'https_proxy': 'http://127.0.0.1:9', 'http_proxy': 'http://127.0.0.1:9', 'FASTAI_HOME': str(tmp_path/'fastai')}
    res = run(cli, 'train', '--data', 'pets', '--epochs', '1', '--out', tmp_path/'p', env=env, timeout=300)
    assert_user_error(res, 'download', '--data PATH')

def test_unknown_names(cli, tmp_path):
    assert_user_error(run(cli, 'train', '--arch', 'resnet2O', '--out', tmp_path/'a'), 'resnet20')
    assert_user_error(run(cli, 'train', '--recipe', 'cifar10-papr', '--out', tmp_path/'b'), 'cifar10-paper')
    assert_user_error(run(cli, 'trian'), 'train')

def _tiny_folder(root, n=6, classes=('a', 'b')):
    for c in classes:
        (root/c).mkdir(parents=True)
        for i in range(n): Image.new('RGB', (32, 32), (40*i, 200 if c == 'a' else 20, 90)).save(root/c/f'{i}.png')
    return root

def test_batch_larger_than_data(cli, tmp_path):
    data = _tiny_folder(tmp_path/'tiny')
    assert_user_error(run(cli, 'train', '--data', data, '--bs', 64, '--size', 32, '--arch', 'resnet20', '--out', tmp_path/'r'),
                      'batch size 64')

def test_unwritable_output_folder(cli, tmp_path):
    (tmp_path/'file').write_text('a file, not a folder')
    assert_user_error(run(cli, 'train', '--out', tmp_path/'file'/'run'), 'Cannot write to the output folder')

def test_recipes_and_models(cli):
    res = run(cli, 'recipes')
    assert res.returncode == 0 and 'cifar10-paper' in res.stdout and 'He, Zhang, Ren, Sun' in res.stdout
    res = run(cli, 'models', '--pattern', 'resnet*')
    assert res.returncode == 0
    names = res.stdout.split()
    for n in ('resnet20', 'resnet56', 'resnet1202', 'resnet18', 'resnet152', 'resnet9'): assert n in names
