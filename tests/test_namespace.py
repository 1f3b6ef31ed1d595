"`from resnet_fa.all import *` adds resnet_fa's API and rebinds no name of fastai or fastcore."
import subprocess, sys, textwrap

def _run(code:str) -> str:
    "Run `code` in a fresh interpreter (a star import into a clean namespace), return its stdout."
    res = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout

def test_no_fastai_or_fastcore_name_is_rebound():
    """Star imports of fastcore.all, then fastai.vision.all (fastai's wins where both define a name, as in fastai),
    then resnet_fa.all: every name stays the object it was; and resnet_fa.all's own namespace agrees with both."""
    out = _run('''
        from fastcore.all import *
        from fastai.vision.all import *
        before = dict(globals())
        from resnet_fa.all import *
        changed = sorted(k for k, v in before.items() if not k.startswith('__') and globals()[k] is not v)
        print('changed:', changed)
        import fastai.vision.all as fa, fastcore.all as fc, resnet_fa.all as ra
        for k in set(dir(fa)) | set(dir(fc)):
            if k.startswith('_') or not hasattr(ra, k): continue
            expected = getattr(fa, k) if hasattr(fa, k) else getattr(fc, k)
            if getattr(ra, k) is not expected: print('differs:', k)
        print('n_checked:', len(before))
    ''')
    assert 'changed: []' in out, out
    assert 'differs:' not in out, out
    assert int(out.split('n_checked:')[1]) > 1000   # the comparison saw fastai's whole namespace

def test_fastai_names_are_fastais_and_resnet_fa_api_is_there():
    out = _run('''
        from resnet_fa.all import *
        import fastai.vision.all as fa, fastcore.all as fc, torchvision, resnet_fa.models, resnet_fa.callbacks
        assert resnet18 is fa.resnet18 is torchvision.models.resnet18
        assert ResNet is fa.ResNet and atomic_save is fc.atomic_save
        # resnet_fa's torchvision-compatible ResNets: by name and from resnet_fa.models
        m = create_model('resnet18', n_out=3)
        assert type(m) is resnet_fa.models.ResNet and resnet_fa.models.resnet18 is not resnet18
        for name in ('resnet_learner', 'get_dls', 'Recipe', 'find_lr', 'TorchCompile', 'epoch_table', 'EpochTable',
                     'atomic_torch_save', 'atomic_write', 'check_settings', 'train', 'load_run', 'ResnetFaError'):
            assert name in globals(), name
        assert atomic_torch_save is resnet_fa.callbacks.atomic_torch_save
        print('ok')
    ''')
    assert out.strip().endswith('ok')
