"The web demo (`resnet_fa serve`): a real server answering over HTTP, bad uploads, and the run folder alone."
import os, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from PIL import Image

pytest.importorskip('gradio')  # the `serve` extra; `pip install -e ".[dev]"` brings it
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
import resnet_fa.cli, resnet_fa.serve
from resnet_fa.run import load_run
from resnet_fa.core import ResnetFaError
from resnet_fa.serve import load_classifier, open_image, ServingSpec
from test_cli import assert_user_error  # exit 2, one line on stderr, no traceback

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'NO_ALBUMENTATIONS_UPDATE': '1', 'MPLBACKEND': 'Agg'}

@pytest.fixture(scope='module')
def run_dir(cli, tmp_path_factory):
    "ResNet-20 trained for 3 epochs on the built-in digits (real 8x8 scans at 16 px): about 90% accurate, in ~20 s."
    out = tmp_path_factory.mktemp('serve')/'run'
    res = subprocess.run([cli, 'train', '--epochs', '3', '--size', '16', '--quiet', '--out', str(out)],
                         capture_output=True, text=True, timeout=600, env=ENV)
    assert res.returncode == 0, res.stderr[-3000:]
    return out

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def wait_until_up(url, proc, timeout=180.):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None: pytest.fail(f"the server exited with {proc.returncode}: {proc.stdout.read()[-3000:]}")
        try:
            with urllib.request.urlopen(f'{url}/config', timeout=2) as r:
                if r.status == 200: return
        except OSError: time.sleep(0.2)
    pytest.fail(f"the server did not answer within {timeout:.0f} s")

@pytest.fixture(scope='module')
def server(run_dir):
    "`python -m resnet_fa.serve RUN --port N` in a subprocess, on a free loopback port; its URL."
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'resnet_fa.serve', str(run_dir), '--port', str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    url = f'http://127.0.0.1:{port}'
    try:
        wait_until_up(url, proc)
        yield url
    finally:
        proc.terminate()
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()

@pytest.fixture(scope='module')
def learner_predictions(run_dir):
    "The first validation images of the run, with their true classes and the class the learner itself predicts (via fastai)."
    learn = load_run(run_dir, workers=0)
    files = list(learn.dls.valid_ds.items[:6])
    probs, targs = learn.get_preds(dl=learn.dls.test_dl(files, with_labels=True, num_workers=0))
    vocab = list(map(str, learn.dls.vocab))
    return [(f, vocab[t], vocab[p.argmax()], float(p.max())) for f, t, p in zip(files, targs.tolist(), probs)]

def test_server_predicts_what_the_learner_predicts(server, learner_predictions):
    client = Client(server, verbose=False)
    for f, true, pred, prob in learner_predictions:
        top5, caption, top_map, chosen_map = client.predict(handle_file(str(f)), None, api_name='/predict')
        assert top5['label'] == pred, (f, top5, pred)
        assert len(top5['confidences']) == 5
        assert abs(top5['confidences'][0]['confidence'] - prob) < 1e-3
        for m in (top_map, chosen_map): assert Image.open(m).size == (224, 224)  # over the 16-px input, at display size
        assert f'**{pred}**' in caption
    clear = [o for o in learner_predictions if o[1] == o[2] and o[3] > 0.9]
    assert clear, f"no clearly classified image among {learner_predictions}"
    f, true = clear[0][:2]
    assert client.predict(handle_file(str(f)), None, api_name='/predict')[0]['label'] == true
    # the heat map for a class picked in the drop-down
    other = next(c for c in '0123456789' if c != true)
    assert f'**{other}**' in client.predict(handle_file(str(f)), other, api_name='/predict')[1]

def test_server_reports_a_non_image_and_goes_on_serving(server, learner_predictions, tmp_path):
    client = Client(server, verbose=False)
    (tmp_path/'notes.png').write_text('this is text, not a PNG')
    with pytest.raises(AppError, match='notes.png is not an image this app can read'):
        client.predict(handle_file(str(tmp_path/'notes.png')), None, api_name='/predict')
    f, _, pred, _ = learner_predictions[0]
    assert client.predict(handle_file(str(f)), None, api_name='/predict')[0]['label'] == pred
    with pytest.raises(AppError, match="eleven is not in the list of choices"):  # gradio checks the drop-down's value
        client.predict(handle_file(str(f)), 'eleven', api_name='/predict')

def test_served_run_needs_only_its_folder(server, run_dir, learner_predictions, tmp_path, monkeypatch):
    "Once served, a copy of the run folder is served without its data: `load_run` is never called."
    spec = ServingSpec.load(run_dir)   # written by the server on first use
    assert spec.vocab == [str(i) for i in range(10)] and spec.size == 16 and len(spec.examples) == 8
    copy = tmp_path/'copy'
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns('checkpoints', 'export.pkl', '*.csv', '*.md'))
    def no_data(*args, **kwargs): raise AssertionError("load_run rebuilds the DataLoaders: serving must not need them")
    monkeypatch.setattr(resnet_fa.serve, "load_run", no_data)
    clf = load_classifier(copy)
    assert all(p.is_file() for p in clf.examples) and len(clf.examples) == 8
    for f, _, pred, prob in learner_predictions[:3]:
        p = clf.probs(open_image(f))
        assert clf.spec.vocab[p.argmax()] == pred and abs(float(p.max()) - prob) < 1e-4

def test_without_gradio(run_dir):
    "`import resnet_fa.all` works without gradio, and `python -m resnet_fa.serve RUN` says which extra to install."
    code = ("import runpy, sys; sys.modules['gradio'] = None\n"
            "import resnet_fa.all\n"
            f"sys.argv = ['serve', r'{run_dir}']; runpy.run_module('resnet_fa.serve', run_name='__main__')")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300, env=ENV)
    assert_user_error(res, 'pip install "resnet_fa[serve]"')

def test_bad_model_paths(tmp_path, capsys):
    "Through the CLI's dispatcher, as `resnet_fa serve`: a path that is no model is one line, exit 2."
    assert resnet_fa.cli.main(['serve', str(tmp_path/'no_such_run')]) == 2
    assert f'resnet_fa: error: No run folder or export.pkl at {tmp_path/"no_such_run"}' in capsys.readouterr().err
    (tmp_path/'empty').mkdir()
    assert resnet_fa.cli.main(['serve', str(tmp_path/'empty')]) == 2
    assert 'is not a finished resnet_fa run folder: it has no config.json' in capsys.readouterr().err
    assert resnet_fa.cli.main(['--help']) == 0
    assert 'serve      Serve a trained model as a web app' in capsys.readouterr().out

# Odd uploads at the function level: fast, and without a server.
def test_huge_images(tmp_path):
    Image.new('1', (20_000, 20_000)).save(tmp_path/'bomb.png')   # 400 megapixels in a few kB: PIL's bomb guard
    with pytest.raises(ResnetFaError, match='bomb.png has too many pixels to open safely'):
        open_image(tmp_path/'bomb.png')
    Image.new('L', (9_000, 6_000), 128).save(tmp_path/'big.jpg')  # 54 MP, over the 40 MP limit: decoded at 1/8 scale
    im = open_image(tmp_path/'big.jpg')
    assert im.mode == 'RGB' and im.size == (1125, 750)
    Image.new('L', (9_000, 6_000), 128).save(tmp_path/'big.png')  # no reduced decoding for PNG: refused
    with pytest.raises(ResnetFaError, match='9000 x 6000 pixels'):
        open_image(tmp_path/'big.png')

def test_grey_rgba_and_palette_uploads(run_dir, learner_predictions, tmp_path):
    clf = load_classifier(run_dir)
    f = learner_predictions[0][0]
    rgb = open_image(f)
    variants = {'grey.png': Image.open(f).convert('L'), 'rgba.png': Image.open(f).convert('RGBA'),
                'palette.gif': Image.open(f).convert('P', palette=Image.Palette.ADAPTIVE), 'large.jpg': Image.open(f).resize((640, 640))}
    for name, im in variants.items():
        im.save(tmp_path/name)
        out = clf.classify(open_image(tmp_path/name))
        assert len(out['probs']) == 5 and [m.size for m in out['maps']] == [(224, 224)]*2, name
        if name != 'large.jpg': assert (clf.probs(open_image(tmp_path/name)) - clf.probs(rgb)).abs().max() < 1e-4, name

def test_serving_defaults_to_loopback():
    "Without --host, the app listens on 127.0.0.1 only: from Python, from the command line and from `launch_app`."
    import inspect
    from resnet_fa import serve as s
    for fn in (s.serve, s.launch_app): assert inspect.signature(fn).parameters['host'].default == '127.0.0.1'
    from resnet_fa.cli import _parser
    assert _parser('serve').parse_args(['RUN']).host == '127.0.0.1'
