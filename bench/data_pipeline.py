"""Images per second of one training epoch's batches (no model) for resnet_fa's data pipelines and torchvision's.

CIFAR-10 (32 px, pad 4 + random crop + flip + normalise): the fastai DataBlock (`cifar_dls(fast=False)`), the fast
tensor path (`cifar_dls(fast=True)`) and torchvision `ImageFolder` + `DataLoader`, on the same images with the same
number of workers. Imagewoof at 128 px (random-resized crop + flip + normalise): `imagenet_dls`, fastai's presizing
(`augment='presize'`, for reference) and torchvision, likewise. Uses ../shared/data through `sample_data`.

    python bench/data_pipeline.py --cifar-n 10000 --woof-n 2000 --workers 2
"""
import argparse, json, statistics, os, shutil, tempfile, time, warnings
from pathlib import Path
from _common import cpu_model, loadavg, set_device   # bench/ is on sys.path when a script here runs
warnings.filterwarnings('ignore')
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import torch, torchvision, fastai
from torch.utils.data import DataLoader
from torchvision import datasets, transforms as T
from fastai.vision.all import cifar_stats, imagenet_stats
from resnet_fa.data import cifar_dls, imagenet_dls
from _common import sample_data, subset_folder


def time_epoch(loader):
    "Images and seconds of one full pass over `loader` (worker start-up included, as in training)."
    start, n = time.perf_counter(), 0
    for x, y in loader: n += len(x)
    return dict(images=n, seconds=round(time.perf_counter()-start, 3))

def time_round_robin(loaders:dict, repeats):
    "One epoch of each loader in turn, `repeats` times, so that a change in the machine's load hits all of them alike."
    runs = {k: [] for k in loaders}
    for _ in range(repeats):
        for k, dl in loaders.items(): runs[k].append(time_epoch(dl))
    rate = lambda v: sorted(r['images']/r['seconds'] for r in v)
    return {k: dict(runs=v, images_per_s=round(statistics.median(rate(v)), 1), best_images_per_s=round(rate(v)[-1], 1))
            for k, v in runs.items()}

def torchvision_loader(folder, files, tfm, bs, workers):
    "torchvision `ImageFolder` over the same training `files` as the fastai loader, in a plain `DataLoader`."
    ds = datasets.ImageFolder(folder, tfm)
    ds.samples = ds.imgs = [(str(f), ds.class_to_idx[Path(f).parent.name]) for f in files]
    ds.targets = [t for _, t in ds.samples]
    return DataLoader(ds, batch_size=bs, shuffle=True, drop_last=True, num_workers=workers)

def paired_ratio(res, a, b):
    "Median over rounds of the speed of `a` over that of `b` measured in the same round (robust to a changing load)."
    speed = lambda r: r['images']/r['seconds']
    return round(statistics.median(speed(x)/speed(y) for x, y in zip(res[a]['runs'], res[b]['runs'])), 2)

DEVICE = 'cpu'   # where the batches go (--device)

def bench_cifar(n, workers, bs, repeats, tmp):
    src = sample_data('cifar10')
    sub = subset_folder(src, tmp/'cifar10', n//10, folders=['train'])
    dls = cifar_dls(sub, bs=bs, valid='holdout', num_workers=workers, device=DEVICE)
    start = time.perf_counter()
    fdls = cifar_dls(sub, bs=bs, valid='holdout', fast=True, device=DEVICE)
    build = round(time.perf_counter()-start, 3)
    tfm = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(*cifar_stats)])
    res = time_round_robin(dict(fastai_datablock=dls.train, fast_path=fdls.train,
                                torchvision_imagefolder=torchvision_loader(sub/'train', dls.train_ds.items, tfm, bs, workers)), repeats)
    res['fast_path']['first_build_seconds_incl_checks_and_decode'] = build
    res['speedup_fast_vs_datablock'] = paired_ratio(res, 'fast_path', 'fastai_datablock')
    res['speedup_fast_vs_torchvision'] = paired_ratio(res, 'fast_path', 'torchvision_imagefolder')
    res['ratio_datablock_vs_torchvision'] = paired_ratio(res, 'fastai_datablock', 'torchvision_imagefolder')
    return res

def bench_woof(n, workers, bs, size, repeats, tmp):
    src = sample_data('imagewoof2-160')
    sub = subset_folder(src, tmp/'woof', n//10, folders=['train'])
    dls = imagenet_dls(sub, size=size, bs=bs, valid=0.1, augment='standard', num_workers=workers, device=DEVICE)
    tfm = T.Compose([T.RandomResizedCrop(size, scale=(0.35, 1)), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(*imagenet_stats)])
    res = time_round_robin(dict(resnet_fa_imagenet_dls=dls.train,
                                torchvision_imagefolder=torchvision_loader(sub/'train', dls.train_ds.items, tfm, bs, workers)), repeats)
    pdls = imagenet_dls(sub, size=size, bs=bs, valid=0.1, augment='presize', num_workers=workers, device=DEVICE)
    res['fastai_presize_aug_transforms_reference'] = time_round_robin(dict(p=pdls.train), 1)['p']
    res['ratio_resnet_fa_vs_torchvision'] = paired_ratio(res, 'resnet_fa_imagenet_dls', 'torchvision_imagefolder')
    return res

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--cifar-n', type=int, default=10_000, help='CIFAR-10 images used (n/10 per class)')
    p.add_argument('--woof-n', type=int, default=2_000, help='Imagewoof images used (n/10 per class)')
    p.add_argument('--workers', type=int, default=2, help='DataLoader workers for every worker-based pipeline')
    p.add_argument('--cifar-bs', type=int, default=128)
    p.add_argument('--woof-bs', type=int, default=64)
    p.add_argument('--size', type=int, default=128, help='Imagewoof image size')
    p.add_argument('--repeats', type=int, default=5, help='epochs timed per pipeline, in turn (median and best reported)')
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads of the main process (workers always use 1)')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'data_pipeline.json'))
    p.add_argument('--device', default='cpu', help="where the batches go: 'cpu' or 'cuda'")
    a = p.parse_args()
    global DEVICE
    DEVICE = a.device; set_device(a.device)
    # DataLoader workers run torch with one thread; the main process (batch transforms, the fast path) does the same
    # by default, because small tensor ops on an oversubscribed CPU get slower, not faster, with more threads.
    torch.set_num_threads(a.threads)
    if sample_data('cifar10') is None or sample_data('imagewoof2-160') is None:
        raise SystemExit('The sample data (../shared/data/cifar10.tgz, imagewoof2-160.tgz) is needed for this benchmark.')
    tmp = Path(tempfile.mkdtemp())
    out = dict(settings=vars(a), torch=torch.__version__, torchvision=torchvision.__version__, fastai=fastai.__version__,
               cpu=cpu_model(), cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(), loadavg_before=loadavg(),
               started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
    try:
        out['cifar10'] = bench_cifar(a.cifar_n, a.workers, a.cifar_bs, a.repeats, tmp)
        print(json.dumps(out['cifar10'], indent=1))
        out['imagewoof'] = bench_woof(a.woof_n, a.workers, a.woof_bs, a.size, a.repeats, tmp)
        print(json.dumps(out['imagewoof'], indent=1))
    finally: shutil.rmtree(tmp, ignore_errors=True)
    out['loadavg_after'] = loadavg()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2))
    print(f'wrote {a.out}')

if __name__ == '__main__': main()
