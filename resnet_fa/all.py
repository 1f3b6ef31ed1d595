"`from resnet_fa.all import *`: fastai's vision API and the whole resnet_fa API, resnet_fa's names last."
from fastai.vision.all import *
from .core import *
from .models import *
from .data import *
from .callbacks import *
from .learner import *
from .interpret import *
from .distributed import *
from .cli import train, load_run, export_learner, prepare_run_dir
from .serve import *  # imports gradio only when an app is built, so this works without the serve extra (tests/test_serve.py)
