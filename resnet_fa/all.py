"`from resnet_fa.all import *`: fastai's vision API and the whole resnet_fa API, resnet_fa's names last."
from fastai.vision.all import *
from .core import *
