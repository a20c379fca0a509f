"""An ordinary digit-classifier training script; ganaug is the three lines marked `# ganaug`.

Runs offline on sklearn digits, on a CPU:

    python examples/wrap_dataloader.py            # with GAN augmentation
    python examples/wrap_dataloader.py --no-gan   # the same script without it

One run is one seed and proves nothing about a gain; `ganaug evaluate` measures that over
seeds with intervals (on digits, today's default GAN gives none: see the README).
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from ganaug import GANAugmenter, few_shot, load_dataset, mix_loader  # ganaug

parser = argparse.ArgumentParser()
parser.add_argument("--no-gan", action="store_true")
parser.add_argument("--per-class", type=int, default=10)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
torch.manual_seed(args.seed)

# The usual data pipeline: a labelled dataset with its own transform, and a DataLoader.
to_input = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
train, _ = few_shot(load_dataset("digits", train=True), args.per_class, seed=args.seed)
test = load_dataset("digits", train=False)
train.transform = test.transform = to_input
loader = DataLoader(train, batch_size=32, shuffle=True)

if not args.no_gan:
    augmenter = GANAugmenter(seed=args.seed, verbose=False).fit(train)  # ganaug: pretrain on the same data
    loader = mix_loader(loader, augmenter, ratio=1.0, transform=to_input)  # ganaug: one synthetic per real

model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 2 * 2, 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
for _epoch in range(60):
    for x, y in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in DataLoader(test, batch_size=256))
print(f"test accuracy {'without' if args.no_gan else 'with'} GAN augmentation: {correct / len(test):.3f}")
