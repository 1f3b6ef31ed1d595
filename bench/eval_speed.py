"""How fast `resnet_fa eval`'s protocols score images, per view, against fastai's `learn.get_preds` on the same model and files.

    python bench/eval_speed.py --data ../shared/data/imagewoof2-160.tgz --under train --per-class 20 --arch resnet18 --size 128 --threads 2

Issue #28's fourth target: each protocol of `evaluate_protocols` (the function behind `resnet_fa eval`) within 1.3x of
`get_preds`' images/s per view. `get_preds` decodes, resizes and scores one view of each image through the
learner's validation pipeline; `center` scores one view, `ten_crop` ten, `multi_scale` two (the image and its mirror)
at each of five scales of the whole image, so its views are counted in crop-sized pixels (a view of twice the pixels
counts twice), and `tta` (fastai's `learn.tta`) five. The model is untrained (speed does not depend on the
weights); the learner has the precision callbacks `resnet_fa train` gives it (bf16 autocast and channels-last on a
CPU with bf16). Each timing is the best of `--repeats` after a warm-up pass. Writes bench/results/eval_speed-<arch>-<size>.json.
"""
import argparse, tempfile, time, warnings
from pathlib import Path
from _common import subset_folder, add_device_arg, set_device, command_line, versions, write_result, loadavg   # bench/ is on sys.path
warnings.filterwarnings('ignore')
import torch
from PIL import Image
from fastai.vision.all import get_image_files
from resnet_fa.data import get_dls
from resnet_fa.learner import resnet_learner
from resnet_fa.interpret import evaluate_protocols, _paper_scales   # the scales evaluate_protocols tests at

def best_seconds(f, repeats:int) -> float:
    "The shortest of `repeats` timed calls of `f` (after one untimed warm-up call)."
    f(); times = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)

def multi_scale_views(files, crop:int, sizes) -> float:
    "Crop-sized views in `multi_scale`: each image resized (shorter side) to each of `sizes`, and its mirror image."
    total = 0.
    for f in files:
        w, h = Image.open(f).size
        for s in sizes: total += 2 * s*s*max(w, h)/min(w, h) / crop**2
    return total

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', required=True, help='a folder or .tgz archive of class folders')
    p.add_argument('--under', default=None, help="the top folder holding the class folders (e.g. 'train')")
    p.add_argument('--per-class', type=int, default=20, help='images of each class to score')
    p.add_argument('--arch', default='resnet18')
    p.add_argument('--size', type=int, default=128, help='the input size the learner trains at (the crop)')
    p.add_argument('--bs', type=int, default=32, help="images decoded at a time (eval's --bs) and get_preds' batch size")
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--threads', type=int, default=None)
    add_device_arg(p)
    p.add_argument('--out', default=None)
    a = p.parse_args()
    set_device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        sub = subset_folder(a.data, Path(tmp)/'subset', a.per_class, folders=[a.under] if a.under else None)
        folder = sub/a.under if a.under else sub
        files = sorted(get_image_files(folder))
        dls = get_dls(folder, size=a.size, bs=a.bs, num_workers=0)
        learn = resnet_learner(dls, a.arch)
        test_dl = dls.test_dl(files, num_workers=0)
        n = len(files)
        def preds():
            with learn.no_bar(): learn.get_preds(dl=test_dl)
        rows = {'get_preds': dict(seconds=best_seconds(preds, a.repeats), views=n)}
        sizes = [round(a.size*s/224) for s in _paper_scales]   # evaluate_protocols' default sizes for this crop
        # fastai's tta (eval's 'tta'): 4 augmented passes and one plain one
        views = dict(center=n, ten_crop=10*n, multi_scale=multi_scale_views(files, a.size, sizes), tta=5*n)
        for proto, v in views.items():
            run = lambda: evaluate_protocols(learn, files, protocols=(proto,), bs=a.bs, num_workers=0, quiet=True)
            rows[proto] = dict(seconds=best_seconds(run, a.repeats), views=v)
    base = rows['get_preds']['views'] / rows['get_preds']['seconds']
    for r in rows.values():
        r['views_per_second'] = round(r['views'] / r['seconds'], 1)
        r['get_preds_over_this'] = round(base / r['views_per_second'], 3)   # the target: at most 1.3
        r['seconds'] = round(r['seconds'], 2)
    result = dict(command=command_line(), data=str(a.data), images=n, arch=a.arch, size=a.size, bs=a.bs,
                  repeats=a.repeats, device=a.device, precision_cbs=[type(c).__name__ for c in learn.cbs],
                  protocols=rows, versions=versions(), loadavg=loadavg(),
                  notes="views_per_second: views scored per second (multi_scale's in crop-sized pixels); "
                        "get_preds_over_this: get_preds' views/s over this protocol's (issue #28: at most 1.3).")
    out = Path(a.out or Path(__file__).parent/'results'/f"eval_speed-{a.arch}-{a.size}.json")
    write_result(out, result)
    for k, r in rows.items(): print(f"{k:12s} {r['views_per_second']:8.1f} views/s  get_preds/this {r['get_preds_over_this']:.2f}")

if __name__ == '__main__': main()
