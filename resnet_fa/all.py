"""`from resnet_fa.all import *`: fastai's vision API and resnet_fa's, without rebinding any fastai or fastcore name.

fastai's names keep their objects: `resnet18` ... `resnet152` stay torchvision's functions as in every fastai
tutorial, `atomic_save` stays fastcore's. resnet_fa's torchvision-compatible ResNets of the same names are reached
by name (`create_model('resnet18')`, `resnet_learner(dls, 'resnet18')`) or from `resnet_fa.models`."""
from fastai.vision.all import *  # noqa: F403 (re-exported: this module is a star-import namespace)
import importlib as _importlib
import fastai.vision.all as _fastai_all, fastcore.all as _fastcore_all

_MODULES = ('core', 'models', 'data', 'callbacks', 'learner', 'interpret', 'distributed', 'run', 'serve')

def _public_names() -> dict:
    "resnet_fa's public names (each module's `__all__`) that fastai.vision.all and fastcore.all do not define."
    taken = set(dir(_fastai_all)) | set(dir(_fastcore_all))
    names = {}
    for m in _MODULES:
        mod = _importlib.import_module(f'resnet_fa.{m}')  # serve imports gradio only when an app is built
        names.update({n: getattr(mod, n) for n in mod.__all__ if n not in taken})
    return names

globals().update(_public_names())
