#!/usr/bin/python3
"""Outside anchor for the bench's figure 1: the dashboard's CNN trained on the same MNIST file in PyTorch (CPU).

Same data file (data/mnist/mnist.bin.gz, "MNS1" layout, normalised like MnistDataset), same model as
src/Dashboard.Engine/Models/Cnn.cs (per channel count a 3x3 conv with padding 1, ReLU, 2x2 max-pool; flatten, Linear to
64, ReLU, Linear to 10), Adam, same batch size, same per-batch work as the trainer (loss and accuracy read back) and a
validation pass each epoch inside the epoch's time, as the trainer times an epoch. Prints one JSON line:
{"torch": version, "threads": n, "samplesPerSecond": [per epoch]}.

Usage: pytorch_anchor.py DATA_FILE --train N --validation N --epochs N --batch 64 --threads 2 [--seed 42]
"""
import argparse
import gzip
import json
import struct
import time

import torch
from torch import nn

PIXEL_MEAN = 0.1307
PIXEL_STD = 0.3081


def load(path):
    raw = gzip.open(path, "rb").read()
    if raw[:4] != b"MNS1":
        raise SystemExit(f"{path} is not an MNS1 digit file")
    count, rows, cols = struct.unpack_from("<III", raw, 4)
    pixels = torch.frombuffer(bytearray(raw[16:16 + count * rows * cols]), dtype=torch.uint8)
    labels = torch.frombuffer(bytearray(raw[16 + count * rows * cols:]), dtype=torch.uint8).long()
    features = ((pixels.float() / 255.0) - PIXEL_MEAN) / PIXEL_STD
    return features.view(count, 1, rows, cols), labels


def cnn(channels, height, width, classes):
    layers, previous = [], 1
    for c in channels:
        layers += [nn.Conv2d(previous, c, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        previous, height, width = c, height // 2, width // 2
    layers += [nn.Flatten(), nn.Linear(previous * height * width, 64), nn.ReLU(), nn.Linear(64, classes)]
    return nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--train", type=int, required=True)
    parser.add_argument("--validation", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--lr", type=float, default=0.001)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    features, labels = load(args.data)
    # Throughput does not depend on which digits are picked, only on how many: the first samples validate, the next train.
    val_x, val_y = features[:args.validation].contiguous(), labels[:args.validation].contiguous()
    train_x = features[args.validation:args.validation + args.train].contiguous()
    train_y = labels[args.validation:args.validation + args.train].contiguous()
    model = cnn([16, 32], 28, 28, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    per_epoch = []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(args.train)
        loss_sum, correct = 0.0, 0
        for b in range(0, args.train, args.batch):
            idx = order[b:b + args.batch]
            x, y = train_x.index_select(0, idx), train_y.index_select(0, idx)
            optimizer.zero_grad()
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += logits.argmax(1).eq(y).sum().item()
        model.eval()
        with torch.no_grad():
            for b in range(0, args.validation, 1000):
                logits = model(val_x[b:b + 1000])
                loss_fn(logits, val_y[b:b + 1000]).item()
                logits.argmax(1).eq(val_y[b:b + 1000]).sum().item()
        per_epoch.append(args.train / (time.perf_counter() - start))

    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "samplesPerSecond": per_epoch}))


if __name__ == "__main__":
    main()
