"""Hostile input to the run folder and the commands that read it: each test builds the bad input itself (crafted
serve.json, symbolic links, concurrent writers, bad numbers, conflicting flags, damaged checkpoints and exports) and
checks the outcome: exit status 2, one line on stderr, no traceback, nothing written outside the folder, nothing lost.

    python -m pytest -q tests/test_hostile_run.py"""
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from resnet_fa.cli import main
from test_cli import run, assert_user_error, _tiny_folder

def snapshot(root:Path, skip=()) -> dict:
    "Every path under `root` (but those under `skip`) with its size and modification time."
    skip = [Path(s) for s in skip]
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob('*')
            if not any(p == s or s in p.parents for s in skip) and not p.is_symlink()}

def one_error(capsys, *needles) -> str:
    "The one `resnet_fa: error:` line an in-process `main` call printed, with each of `needles`."
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith('resnet_fa: error:') and 'Traceback' not in err, err
    for n in needles: assert n in lines[0], lines[0]
    return lines[0]

@pytest.fixture(scope='module')
def base_run(cli, tmp_path_factory):
    "ResNet-20 trained 2 epochs on the digits at 16 px, without --quiet and with stdout a pipe (not a terminal)."
    out = tmp_path_factory.mktemp('hostile')/'base'
    res = run(cli, 'train', '--epochs', 2, '--size', 16, '--out', out)
    assert res.returncode == 0, res.stderr[-3000:]
    return out, res.stdout

@pytest.fixture
def run_copy(base_run, tmp_path):
    dest = tmp_path/'run'
    shutil.copytree(base_run[0], dest)
    return dest

# ---- progress when stdout is not a terminal ---------------------------------------------------------

def test_progress_is_one_line_per_epoch_in_a_log(base_run):
    out = base_run[1]
    assert '\r' not in out and '█' not in out, out[:2000]
    lines = out.splitlines()
    header = [i for i, l in enumerate(lines) if l.split()[:4] == ['epoch', 'train_loss', 'valid_loss', 'accuracy']]
    assert len(header) == 1, out
    rows = lines[header[0]+1:header[0]+3]
    assert [r.split()[0] for r in rows] == ['0', '1'], rows

# ---- 1. paths read from a run folder stay inside it --------------------------------------------------

@pytest.fixture
def served_copy(run_copy):
    "A copy of the run with its serve.json written (as `resnet_fa serve` does on first use)."
    from resnet_fa.serve import prepare_serving
    prepare_serving(run_copy)
    return run_copy

def _set_examples(run, examples):
    spec = json.loads((run/'serve.json').read_text())
    spec['examples'] = examples
    (run/'serve.json').write_text(json.dumps(spec))

@pytest.mark.parametrize('kind', ['dotdot', 'absolute', 'symlink'])
def test_serve_json_paths_are_contained(cli, served_copy, tmp_path, kind):
    secret = tmp_path/'secret.txt'; secret.write_text('not part of the run')
    example = {'dotdot': '../secret.txt', 'absolute': str(secret), 'symlink': 'examples/x.png'}[kind]
    if kind == 'symlink': (served_copy/'examples'/'x.png').symlink_to(secret)
    _set_examples(served_copy, ['examples/00_0.png', example])
    before = snapshot(tmp_path, skip=[served_copy])
    assert_user_error(run(cli, 'serve', served_copy, '--port', 1), 'outside the folder' if kind == 'symlink' else
                      'not inside the folder')
    space = tmp_path/'space'
    assert_user_error(run(cli, 'serve', served_copy, '--space', space), 'folder')
    assert not any(p.name in ('secret.txt', 'x.png') for p in space.rglob('*')) if space.exists() else True
    after = snapshot(tmp_path, skip=[served_copy, space])
    assert after == before

def test_space_never_writes_outside_its_folder(cli, served_copy, tmp_path):
    target = tmp_path/'elsewhere.py'; target.write_text('# mine\n')
    space = tmp_path/'space'; space.mkdir()
    (space/'app.py').symlink_to(target)   # a link planted in the Space folder
    assert_user_error(run(cli, 'serve', served_copy, '--space', space), 'outside the folder')
    assert target.read_text() == '# mine\n'

def test_symlinked_weights_are_refused(cli, served_copy, tmp_path):
    outside = tmp_path/'w.safetensors'
    shutil.move(served_copy/'model.safetensors', outside)
    (served_copy/'model.safetensors').symlink_to(outside)
    assert_user_error(run(cli, 'serve', served_copy, '--port', 1), 'outside the folder')

# ---- 2. one writer per run folder, no silent overwrite ------------------------------------------------

def test_second_writer_is_refused_and_the_first_run_is_intact(cli, tmp_path):
    out = tmp_path/'cc'
    first = subprocess.Popen([cli, 'train', '--epochs', '3', '--size', '16', '--quiet', '--out', str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (out/'.lock').exists() and time.time() < deadline and first.poll() is None: time.sleep(0.1)
    assert (out/'.lock').exists(), first.communicate()
    second = run(cli, 'train', '--epochs', 2, '--arch', 'resnet32', '--size', 16, '--quiet', '--out', out)
    assert_user_error(second, f'process {first.pid}')
    stdout, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr[-3000:]
    lines = (out/'metrics.csv').read_text().splitlines()
    assert len(lines) == 4 and all(l.count(',') == lines[0].count(',') for l in lines), lines
    assert json.loads((out/'config.json').read_text())['recipe']['arch'] == 'resnet20'
    assert not (out/'.lock').exists()

def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    from resnet_fa.run import RunLock
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    (tmp_path/'.lock').write_text(dead.stdout)
    with RunLock(tmp_path): assert (tmp_path/'.lock').read_text().strip() == str(os.getpid())

def test_finished_run_is_not_overwritten(run_copy, capsys):
    before = snapshot(run_copy)
    assert main(['train', '--epochs', '1', '--size', '16', '--out', str(run_copy)]) == 2
    one_error(capsys, 'already holds a finished run', '--resume', '--overwrite')
    assert snapshot(run_copy) == before

def test_overwrite_replaces_the_run(cli, run_copy):
    res = run(cli, 'train', '--epochs', 1, '--size', 16, '--quiet', '--overwrite', '--out', run_copy)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len((run_copy/'metrics.csv').read_text().splitlines()) == 2   # header and the one new epoch
    assert json.loads((run_copy/'config.json').read_text())['recipe']['epochs'] == 1

# ---- 5. numbers checked before any work --------------------------------------------------------------

BAD_NUMBERS = [
    (['train', '--epochs', '0'], '--epochs must be an integer at least 1'), (['train', '--epochs', '-1'], '--epochs'),
    (['train', '--lr', '-0.1'], '--lr must be a number above 0'), (['train', '--label-smoothing', '2'], '--label-smoothing'),
    (['train', '--size', '0'], '--size'), (['train', '--size', '-5'], '--size'), (['train', '--bs', '0'], '--bs'),
    (['train', '--bs', '-8'], '--bs'), (['train', '--workers', '-1'], '--workers'),
    (['train', '--keep-best', '-1'], '--keep-best'), (['train', '--mixup', '-1'], '--mixup'),
    (['train', '--lr', 'nan'], '--lr'), (['train', '--epochs', 'two'], 'invalid int value'),
    (['train', '--seed', '-3'], '--seed'), (['train', '--precision', 'fp8'], '--precision'),
    (['eval', 'RUN', '--bs', '0'], '--bs'), (['eval', 'RUN', '--resize', '0'], '--resize'),
    (['interpret', 'RUN', '--k', '0'], '--k'), (['lr-find', '--num-it', '0'], '--num-it'),
    (['lr-find', '--bs', '0'], '--bs'), (['serve', 'RUN', '--port', '70000'], '--port'),
]

@pytest.mark.parametrize('args,needle', BAD_NUMBERS, ids=[' '.join(a) for a, _ in BAD_NUMBERS])
def test_bad_numbers_are_one_line_before_any_work(args, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [str(tmp_path/'r') if a == 'RUN' else a for a in args]
    out = ['--out', str(tmp_path/'out')] if args[0] in ('train', 'lr-find') else []
    assert main(args + out) == 2
    one_error(capsys, needle)
    assert list(tmp_path.iterdir()) == []   # no run folder, no runs/

# ---- 6. --resume keeps the run's settings ------------------------------------------------------------

def test_resume_refuses_conflicting_options(run_copy, capsys):
    (run_copy/'results.json').unlink()
    before = snapshot(run_copy)
    assert main(['train', '--resume', '--out', str(run_copy), '--epochs', '10', '--lr', '5', '--arch', 'resnet56',
                 '--data', '/nonexistent']) == 2
    one_error(capsys, '--epochs 10', '--lr 5.0', '--arch resnet56', '--data /nonexistent')
    assert main(['train', '--resume', '--overwrite', '--out', str(run_copy)]) == 2
    one_error(capsys, 'pass one of them')
    assert snapshot(run_copy) == before

# ---- 7. damaged files: a sentence, not a traceback ---------------------------------------------------

def test_truncated_resume_state(cli, run_copy):
    state = run_copy/'checkpoints'/'resume.pth'
    state.write_bytes(state.read_bytes()[:state.stat().st_size//2])
    assert_user_error(run(cli, 'train', '--resume', '--out', run_copy), 'Cannot resume', 'cut short')

def test_resume_state_with_a_refused_pickle(cli, run_copy):
    torch.save({'epoch': 0, 'n_epoch': 2, 'payload': argparse.Namespace(x=1)}, run_copy/'checkpoints'/'resume.pth')
    assert_user_error(run(cli, 'train', '--resume', '--out', run_copy), 'Cannot resume', 'refuses')

# ---- 8. pickles only when trusted --------------------------------------------------------------------

def test_export_needs_trust_pickle(cli, run_copy, tmp_path):
    data = _tiny_folder(tmp_path/'tiny')
    assert_user_error(run(cli, 'serve', run_copy/'export.pkl', '--port', 1), '--trust-pickle', 'runs any code')
    assert_user_error(run(cli, 'eval', run_copy/'export.pkl', '--data', data), '--trust-pickle')

def test_empty_export_is_a_sentence(cli, tmp_path):
    (tmp_path/'export.pkl').write_bytes(b'')
    assert_user_error(run(cli, 'serve', tmp_path/'export.pkl', '--trust-pickle', '--port', 1), 'empty (0 bytes)')
    assert_user_error(run(cli, 'eval', tmp_path/'export.pkl', '--trust-pickle', '--data', tmp_path), 'empty (0 bytes)')
    (tmp_path/'export.pkl').write_bytes(b'\x80\x04not a pickle at all')
    assert_user_error(run(cli, 'serve', tmp_path/'export.pkl', '--trust-pickle', '--port', 1), 'not a complete')

def test_run_files_share_one_mode(base_run):
    out = base_run[0]
    mode = (out/'config.json').stat().st_mode & 0o777
    for f in ['model.safetensors', 'export.pkl', *(p.relative_to(out) for p in (out/'checkpoints').glob('*.pth'))]:
        assert (out/f).stat().st_mode & 0o777 == mode, f

# ---- 10. bad input leaves no run folder ---------------------------------------------------------------

def test_failed_run_leaves_no_folder(cli, tmp_path):
    empty = tmp_path/'empty'; (empty/'cats').mkdir(parents=True); (empty/'cats'/'notes.txt').write_text('no images')
    assert_user_error(run(cli, 'train', '--data', empty, '--out', tmp_path/'a'), 'image')
    assert_user_error(run(cli, 'train', '--arch', 'resnet2O', '--size', 16, '--out', tmp_path/'b'), 'resnet20')
    assert not (tmp_path/'a').exists() and not (tmp_path/'b').exists()

# ---- #25: the dataset's own recipe -------------------------------------------------------------------

def test_recipe_for_another_dataset_is_refused(capsys, tmp_path):
    assert main(['train', '--recipe', 'cifar10-paper', '--out', str(tmp_path/'r')]) == 2
    one_error(capsys, "'cifar10-paper' is for cifar10", '--data cifar10')
    assert not (tmp_path/'r').exists()

def test_layout_picks_the_recipe(tmp_path):
    from PIL import Image
    from resnet_fa.run import default_recipe
    (tmp_path/'pets'/'images').mkdir(parents=True)
    Image.new('RGB', (60, 40)).save(tmp_path/'pets'/'images'/'Abyssinian_1.jpg')
    assert default_recipe(tmp_path/'pets') == 'pets-scratch'
    for split in ('train', 'test'): _tiny_folder(tmp_path/'cifar'/split)
    assert default_recipe(tmp_path/'cifar') == 'cifar10-onecycle'
    for split in ('train', 'val'): _tiny_folder(tmp_path/'inet'/split)
    assert default_recipe(tmp_path/'inet') == 'imagewoof-fastai'
    assert default_recipe(_tiny_folder(tmp_path/'plain')) == 'folder'
