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
    res = run(cli, 'train', cwd=tmp_path)   # exactly the README's command: the run folder goes to ./runs/
    assert res.returncode == 0, res.stderr[-3000:]
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith('validation accuracy: '), last
    assert float(last.split(': ')[1]) >= 0.97
    runs = list((tmp_path/'runs').iterdir())
    assert len(runs) == 1 and runs[0].name.startswith('digits-resnet20-'), runs
    run_dir = runs[0]
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
    assert res.stderr == ''   # no warning from the stack that a user cannot act on (fastai's torch.jit.script)
    res = run(cli, 'models', '--pattern', 'resnet*')
    assert res.returncode == 0
    names = res.stdout.split()
    for n in ('resnet20', 'resnet56', 'resnet1202', 'resnet18', 'resnet152', 'resnet9'): assert n in names

# A short run shared by the tests below: ResNet-20 on the digits, 3 epochs.
@pytest.fixture(scope='module')
def short_run(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp('short')/'run'
    res = run(cli, 'train', '--epochs', 3, '--size', 16, '--quiet', '--out', out)
    assert res.returncode == 0, res.stderr[-3000:]
    return out

def test_lr_find_command(cli, tmp_path):
    res = run(cli, 'lr-find', '--size', 16, '--num-it', 30, '--out', tmp_path/'lr')
    assert res.returncode == 0, res.stderr[-3000:]
    sugg = json.loads((tmp_path/'lr'/'lr_find.json').read_text())['suggestions']
    assert 'valley' in sugg and 1e-7 < sugg['valley'] < 10
    assert (tmp_path/'lr'/'lr_find.png').stat().st_size > 1000

def test_quiet_run_writes_one_metrics_row_per_epoch(short_run):
    metrics = pd.read_csv(short_run/'metrics.csv')
    assert list(metrics.epoch) == [0, 1, 2]
    assert metrics.accuracy.between(0, 1).all()
    res = json.loads((short_run/'results.json').read_text())['metrics']
    assert abs(res['accuracy'] - metrics.accuracy.iloc[-1]) < 1e-6   # the final line is the last epoch's accuracy

def test_eval_and_interpret_commands(cli, short_run, tmp_path):
    res = run(cli, 'eval', short_run, '--protocols', 'center,ten_crop', '--out', tmp_path/'eval')
    assert res.returncode == 0, res.stderr[-3000:]
    table = pd.read_csv(tmp_path/'eval'/'eval.csv', index_col=0)
    assert set(table.index) == {'center', 'ten_crop'} and table.top1.between(0, 1).all()
    assert (table.n == 359).all()   # the whole validation split: int(0.2 * 1,797) digits
    res = run(cli, 'interpret', short_run, '--out', tmp_path/'interp')
    assert res.returncode == 0, res.stderr[-3000:]
    per_class = pd.read_csv(tmp_path/'interp'/'per_class.csv', index_col=0)
    assert per_class.loc[[str(i) for i in range(10)], 'support'].sum() == 359
    for f in ('confusion_matrix.png', 'top_losses.png', 'per_class.md'): assert (tmp_path/'interp'/f).is_file()

def test_export_loads_in_a_fresh_process(short_run):
    "`load_learner` on export.pkl in a new interpreter that imports nothing from resnet_fa itself."
    img = next((Path.home()/'.cache'/'resnet_fa').glob('**/digits/3/*.png'), None) or next(short_run.parent.glob('**/*.png'))
    code = ("from fastai.learner import load_learner; from pathlib import Path\n"
            f"learn = load_learner(r'{short_run/'export.pkl'}')\n"
            f"pred, idx, probs = learn.predict(Path(r'{img}'))\n"
            "print(len(learn.dls.vocab), probs.shape[0], round(float(probs.sum()), 4))")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.split()[-3:] == ['10', '10', '1.0']

def test_weights_load_without_pickle(short_run):
    from safetensors import safe_open
    from resnet_fa.callbacks import load_safetensors
    from resnet_fa.models import create_model
    meta = load_safetensors(create_model('resnet20', n_out=10), short_run/'model.safetensors')
    assert meta['arch'] == 'resnet20' and meta['vocab'] == [str(i) for i in range(10)]
    assert 'conv' in ' '.join(safe_open(short_run/'model.safetensors', 'pt').keys())

def test_checkpoint_classes_differ_from_data(cli, short_run, tmp_path):
    "A run's weights used on data with other classes: one clear sentence, nothing overwritten."
    other = tmp_path/'other_run'
    other.mkdir()
    (other/'config.json').write_text((short_run/'config.json').read_text().replace('"data": "digits"', f'"data": "{_tiny_folder(tmp_path/"tiny")}"'))
    (other/'model.safetensors').write_bytes((short_run/'model.safetensors').read_bytes())
    assert_user_error(run(cli, 'eval', other), 'trained on 10 classes', 'the data has 2')

def test_resume_after_kill_matches_uninterrupted_run(cli, tmp_path):
    "Kill a CLI training run with SIGKILL after its second epoch, resume it, and compare with a run never killed."
    args = ['train', '--epochs', 5, '--size', 16, '--quiet', '--seed', 7, '--precision', 'fp32']
    full = run(cli, *args, '--out', tmp_path/'full')
    assert full.returncode == 0, full.stderr[-3000:]
    from resnet_fa.callbacks import resume_info
    proc = subprocess.Popen([cli, *map(str, args), '--out', str(tmp_path/'killed')], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        info = resume_info(tmp_path/'killed'/'checkpoints') if (tmp_path/'killed'/'checkpoints'/'resume.pth').exists() else None
        if info and info['epoch'] >= 1: break
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert not (tmp_path/'killed'/'model.safetensors').exists()
    res = run(cli, 'train', '--resume', '--quiet', '--out', tmp_path/'killed')
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'Resuming' in res.stdout
    a, b = pd.read_csv(tmp_path/'full'/'metrics.csv'), pd.read_csv(tmp_path/'killed'/'metrics.csv')
    assert len(a) == len(b) == 5
    pd.testing.assert_series_equal(a.accuracy, b.accuracy)
    assert (a.valid_loss - b.valid_loss).abs().max() < 1e-4

def test_tensorboard_and_lr_find_in_a_training_run(cli, tmp_path):
    "`--tensorboard` logs the interpretation at the end of training; `--lr-find` saves its plot in the run folder."
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    res = run(cli, 'train', '--epochs', 1, '--size', 16, '--quiet', '--tensorboard', '--lr-find', '--out', tmp_path/'tb')
    assert res.returncode == 0, res.stderr[-3000:]
    assert "recipe 'digits'" in res.stdout   # every run says which recipe it follows and where that comes from
    assert (tmp_path/'tb'/'lr_find.png').stat().st_size > 1000
    acc = EventAccumulator(str(tmp_path/'tb'/'tensorboard')).Reload()
    tags = {t for v in acc.Tags().values() if isinstance(v, list) for t in v}
    assert any('confusion_matrix' in t for t in tags), tags
    assert any('pr_curve' in t for t in tags), tags

def test_speed_recipe_reports_tta(cli, cifar_subset, tmp_path):
    "cifar10-speed (`tta=True`, `tta_shift=1`) adds the flip and flip-and-shift TTA accuracies to results.json and the output."
    data = cifar_subset(60, 0, classes=['cat', 'ship', 'truck'])   # the recipe's hold-out: the last 10% of each class
    res = run(cli, 'train', '--data', data, '--recipe', 'cifar10-speed', '--epochs', '1', '--bs', '32', '--quiet', '--out', tmp_path/'run')
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((tmp_path/'run'/'results.json').read_text())['metrics']
    assert 0 <= metrics['accuracy_flip_tta'] <= 1 and 0 <= metrics['accuracy'] <= 1
    assert f"validation accuracy with flip TTA: {metrics['accuracy_flip_tta']:.4f}" in res.stdout
    assert 0 <= metrics['accuracy_shift_tta'] <= 1
    assert f"validation accuracy with flip and shift TTA: {metrics['accuracy_shift_tta']:.4f}" in res.stdout
    assert json.loads((tmp_path/'run'/'config.json').read_text())['recipe']['arch'] == 'airbench_resnet8'

def test_a_new_recipe_field_is_a_flag(monkeypatch, tmp_path):
    "A field added to `Recipe` becomes a `train` flag and reaches the run's recipe, with no change in cli or run."
    import dataclasses, resnet_fa.cli as cli, resnet_fa.run as run_mod
    from resnet_fa.learner import RECIPES
    R2 = dataclasses.make_dataclass('Recipe', [('channels_last', bool, dataclasses.field(default=False)),
                                               ('ema_decay', float, dataclasses.field(default=0.))], bases=(cli.Recipe,))
    monkeypatch.setattr(cli, 'Recipe', R2)
    p = cli.train_parser()
    assert '--channels-last' in p.format_help() and '--ema-decay' in p.format_help()
    args = vars(p.parse_args(['--channels-last', '--ema-decay', '0.99', '--epochs', '1', '--out', str(tmp_path/'r')]))
    seen = {}
    def fake_fit(learn, run, config, r): seen['recipe'] = r; return learn, run   # the training itself is not the point
    monkeypatch.setattr(run_mod, 'get_recipe', lambda name: R2(**dataclasses.asdict(RECIPES[name])))
    monkeypatch.setattr(run_mod, 'run_learner', lambda *a, **k: None)
    monkeypatch.setattr(run_mod, 'fit_run', fake_fit)
    cli.train_cmd(**args)
    assert seen['recipe'].channels_last is True and seen['recipe'].ema_decay == 0.99 and seen['recipe'].epochs == 1
    assert json.loads((tmp_path/'r'/'config.json').read_text())['recipe']['ema_decay'] == 0.99
