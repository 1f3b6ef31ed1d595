"""Test-time augmentation of a finished run: plain, flip and flip + shift accuracy of its saved weights on its own validation split.

    python bench/tta.py runs/speed-cifar10 --shift 1 --threads 2
    python bench/tta.py runs/speed-cifar10 --shift 1 --threads 2 --update bench/results/speed-cifar10-airbench_resnet8.json

The run folder's config rebuilds the data (same source, split and seed) and the model; the weights are its
model.safetensors. The forward passes use bf16 autocast when the run trained with it, as the CLI's figures do.
`--update` writes the flip + shift figure into the resnet_fa run of a bench/speed.py result, with a note that
says it was measured afterwards by this command, so runs that predate `tta_shift` get the same columns.
"""
import argparse, json, os, sys, warnings
from pathlib import Path
from _common import command_line, write_result, train_module, add_device_arg, set_device   # bench/ is on sys.path
warnings.filterwarnings('ignore')
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
import torch
load_run = train_module().load_run
from resnet_fa.callbacks import precision_cbs, CPUMixedPrecision
from resnet_fa.interpret import tta_accuracies

def run_tta(run:Path, shift:int) -> dict:
    "Plain, flip and flip + `shift` accuracy of the weights in `run`, under the run's precision."
    config = json.loads((run/'config.json').read_text())
    # the library's own choice for the run's precision on this CPU (load_run rebuilds the learner in fp32)
    learn = load_run(run, workers=0)
    device = learn.dls.device or 'cpu'
    # mixed precision on a CPU is bf16 (CPUMixedPrecision); on CUDA the run's fp16 autocast
    cbs = precision_cbs(config.get('precision', 'auto'), device=device)
    bf16 = any(isinstance(cb, CPUMixedPrecision) for cb in cbs)
    kind = torch.device(device).type
    mixed = bf16 or (kind == 'cuda' and len(cbs) > 1)
    dtype = torch.bfloat16 if kind == 'cpu' else torch.float16
    with learn.no_bar(), torch.autocast(kind, dtype, enabled=mixed): plain = float(learn.validate()[1])
    tta = tta_accuracies(learn, shift=shift, autocast=mixed)
    return dict(accuracy=plain, flip_tta_accuracy=tta['flip'], shift_tta_accuracy=tta['shift'], shift=shift, bf16=bf16,
                device=str(device))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('run', help='a finished run folder (config.json and model.safetensors)')
    p.add_argument('--shift', type=int, default=1, help='pixels the translated views move')
    p.add_argument('--threads', type=int, default=None)
    add_device_arg(p)
    p.add_argument('--update', default=None, help='a bench/speed.py JSON whose resnet_fa run gets the flip + shift figure')
    a = p.parse_args()
    set_device(a.device)
    if a.threads: torch.set_num_threads(a.threads)
    res = run_tta(Path(a.run), a.shift)
    print(json.dumps(res, indent=1))
    if a.update:
        result = json.loads(Path(a.update).read_text())
        ours = next(r for r in result['runs'] if r['name'] == 'resnet_fa')
        if Path(ours['run_folder']).resolve() != Path(a.run).resolve():
            sys.exit(f"{a.update} is the result of {ours['run_folder']}, not {a.run}.")
        ours['shift_tta_accuracy'] = res['shift_tta_accuracy']
        ours['shift_tta_note'] = (f"measured after the run by `{command_line()}` (not in its wall time; {res['shift']}-px shifts); "
                                  f"the same command gave flip TTA {res['flip_tta_accuracy']:.4f} and plain {res['accuracy']:.4f}")
        write_result(Path(a.update), result)

if __name__ == '__main__': main()
