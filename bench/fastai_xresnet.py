"""Imagewoof with fastai's own leaderboard model in place of the recipe's resnet50d, through bench/speed.py.

    python bench/fastai_xresnet.py imagewoof --data ../shared/data/imagewoof2-160.tgz --epochs 5 --threads 2 \
        --skip-baseline --set arch=xresnet50_mish_sa zero_init_residual=False

`xresnet50_mish_sa` is fastai's `xresnet50` with Mish activations and self-attention, the model of the
Imagenette/Imagewoof leaderboard entries (it zero-initialises its residual branches itself). It is registered
here, for this comparison only: resnet_fa's own `resnet50d(act_cls=..., sa=True)` is the library's version.
Every other argument is bench/speed.py's.
"""
from fastai.vision.all import XResNet, ResBlock, Mish
from resnet_fa.models import register_model
import speed   # bench/ is on sys.path

class _XResNet(XResNet):
    "fastai's XResNet with timm's `get_classifier`, so that resnet_fa's splitter finds its head."
    def get_classifier(self): return self[-1]

@register_model(family='imagenet', size=128, paper='fastai Imagenette/Imagewoof leaderboard (github.com/fastai/imagenette)')
def xresnet50_mish_sa(n_out=1000, n_in=3, pretrained=False, **kwargs):
    "fastai's xresnet50 with Mish and self-attention."
    return _XResNet(ResBlock, 4, [3, 4, 6, 3], c_in=n_in, n_out=n_out, act_cls=Mish, sa=True)

if __name__ == '__main__': speed.main()
