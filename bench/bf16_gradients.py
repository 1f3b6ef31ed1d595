"""How far CPU bf16 autocast moves a model's first gradient from the fp32 one, with and without zero-initialised residual branches.

    python bench/bf16_gradients.py --threads 2

At He initialisation a deep BatchNorm ResNet sits in a regime where gradients explode with depth: tiny rounding
differences grow on the way back, and bf16's 8-bit mantissa is far from tiny. Zero-initialising the last BN of each
residual branch (Goyal et al. 2017; fastai's xresnet) starts every block as the identity and keeps the gradient stable.
Writes bench/results/bf16_gradients.json: for each model, the cosine similarity and relative error of the bf16
(+ channels_last) gradient against the fp32 gradient on the same random batch.
"""
import argparse, os, warnings
from pathlib import Path
from _common import versions, write_result   # bench/ is on sys.path
warnings.filterwarnings('ignore')
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import torch
import torch.nn.functional as F
from resnet_fa.models import create_model

def gradient(model, x, y, bf16:bool) -> torch.Tensor:
    model.zero_grad()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16): out = model(x)
    F.cross_entropy(out.float(), y).backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()]).double()

def compare(name:str, zero_init:bool, size:int, bs:int=16, seed:int=0) -> dict:
    torch.manual_seed(seed)
    model = create_model(name, n_out=10, **({'zero_init_residual': True} if zero_init else {})).train()
    x, y = torch.randn(bs, 3, size, size), torch.randint(0, 10, (bs,))
    ref = gradient(model, x, y, bf16=False)
    model = model.to(memory_format=torch.channels_last)
    g = gradient(model, x.to(memory_format=torch.channels_last), y, bf16=True)
    return dict(model=name, zero_init_residual=zero_init, size=size, batch=bs,
                cosine=round(float(F.cosine_similarity(g, ref, dim=0)), 4), relative_error=round(float((g-ref).norm()/ref.norm()), 4))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--device', default='cpu', choices=['cpu'], help='a CPU benchmark (bf16 autocast on a CPU): cpu only')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    rows = [compare(n, z, s) for n, s in (('resnet20', 32), ('resnet18', 128), ('resnet50d', 128)) for z in (False, True)]
    for r in rows: print(r)
    write_result(Path(__file__).parent/'results'/'bf16_gradients.json',
                 dict(command='python bench/bf16_gradients.py' + (f' --threads {a.threads}' if a.threads else ''), versions=versions(), rows=rows))

if __name__ == '__main__': main()
