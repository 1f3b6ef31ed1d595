"The GPU check's CPU smoke run (bench/gpu_check.py --device cpu --smoke): every check runs and its JSON says so."
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).parents[1]

def test_gpu_check_smoke_on_cpu(cifar_subset, tmp_path):
    data = cifar_subset(20, 1)   # 20 training images of each class: one epoch of two batches of 64 after the hold-out
    out = tmp_path/'gpu_check.json'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]))
    p = subprocess.run([sys.executable, 'bench/gpu_check.py', '--device', 'cpu', '--smoke', '--threads', '1',
                        '--data', str(data), '--out', str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r['ok'] and r['smoke'] and r['device'] == 'cpu' and r['versions']['cpu']
    c = r['checks']
    # mixed precision is bf16 autocast on a CPU, in channels_last; fp32 stays fp32 in the default memory format
    assert c['precision']['ok'] and c['precision']['bf16']['dtype'] == 'bfloat16'
    assert c['precision']['bf16']['channels_last'] and c['precision']['fp32']['dtype'] == 'float32'
    assert c['precision']['fp32']['final_loss'] > 0
    # compiled without graph breaks, the same gradients as eager, compile time kept apart from the step time
    assert c['compile']['graph_breaks'] == 0 and c['compile']['max_relative_grad_difference'] < 1e-3
    assert c['compile']['compile_seconds'] > 0 and set(c['compile']['step_seconds']) == {'eager', 'compiled'}
    lc = c['compile']['learner_compile']   # resnet_learner's TorchCompile, with the smoke run's backend
    assert lc['compiled'] and lc['fallback'] is None and lc['compile_seconds'] > 0 and lc['final_loss'] > 0
    assert c['ddp']['ok'] is None and 'two GPUs' in c['ddp']['skipped']
    # the side-by-side runs: the same images, the same epochs, one row per epoch, the ratios in the summary
    runs = {x['name']: x for x in c['vs_airbench']['runs']}
    assert set(runs) == {'airbench94', 'resnet_fa'}
    assert runs['airbench94']['train_images'] == runs['resnet_fa']['train_images'] == 180
    assert runs['airbench94']['valid_images'] == runs['resnet_fa']['valid_images'] == 20
    for x in runs.values():
        assert len(x['per_epoch']) == 1 and 0 <= x['final_accuracy'] <= 1 and x['wall_seconds'] > 0
    ratio = c['vs_airbench']['summary']['ratio']
    assert ratio['wall_seconds'] == round(runs['resnet_fa']['wall_seconds'] / runs['airbench94']['wall_seconds'], 3)
