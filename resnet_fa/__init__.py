"""Train ResNets with fastai the right way: faithful architectures, data pipelines and recipes that reproduce the papers, fast on CPU and GPU.

Modules:

- `resnet_fa.all`: `from resnet_fa.all import *`: fastai's vision API and resnet_fa's, without rebinding any fastai or fastcore name.
- `resnet_fa.callbacks`: Mixed precision on every device, the k best checkpoints, runs that survive `kill -9`, a clear stop on NaN losses, compiled training, and one line per epoch in logs.
- `resnet_fa.cli`: `resnet_fa train`, `lr-find`, `eval`, `interpret`, `serve`, `models` and `recipes`: one console script, a thin layer of argument parsing over the library.
- `resnet_fa.data`: DataLoaders for each family of image datasets (the built-in digits, CIFAR, ImageNet-style folders, Oxford-IIIT Pet, any folder of class subfolders), the transforms they use, a fast path for small images, and checks that turn messy folders into clear messages instead of crashes mid-epoch.
- `resnet_fa.distributed`: Many processes, one run: PyTorch DDP through fastai's `DistributedTrainer` and Hugging Face Accelerate, started by `torchrun` or `accelerate launch`, on GPUs (NCCL) or CPUs (gloo).
- `resnet_fa.interpret`: What a trained ResNet gets wrong and why: streaming interpretation (confusion matrix, per-class precision/recall/F1, top-k accuracy, top losses), Grad-CAM heat maps, the ResNet paper's test-time protocols (centre crop, 10-crop, fully-convolutional multi-scale) and fastai's TTA, TensorBoard logging and reports written as CSV, Markdown and PNG files.
- `resnet_fa.learner`: `resnet_learner` (every argument of fastai's `vision_learner`, and resnet_fa's options), the optimizers the papers used, and recipes: published set-ups as data, the one carrier of training options.
- `resnet_fa.models`: The ResNets of the papers, built so that each one can be checked against its paper: CIFAR ResNets, ImageNet ResNets that load torchvision's weights, their published variants, ResNet-9, a registry, fastai integration and a summary.
- `resnet_fa.run`: Train, resume, write outputs, load a run and export it: everything that reads or writes a run folder, in one place, below the command line and the web app that use it.
- `resnet_fa.serve`: `resnet_fa serve`: a trained model as a local Gradio web app (top-5 classes and Grad-CAM heat maps of an uploaded image), and the same app as a Hugging Face Space."""

__version__ = "0.1.0"
