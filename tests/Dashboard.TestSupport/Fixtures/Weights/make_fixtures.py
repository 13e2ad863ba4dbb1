"""Writes the PyTorch weights fixtures of the weights tests. Run once with python3 and PyTorch (1.13 made the committed
files); CI does not run it, it reads the committed outputs.

state_dict.pt      torch.save of a real nn.Module's state_dict: an MLP for the 'spirals' dataset (2 inputs, hidden 64, 64)
                   whose head has 5 outputs (spirals has 2 classes: a shape mismatch) and an extra layer 'extra'
                   (unexpected names).
fc1_weight.f32     the raw little-endian float32 bytes of layers.fc1.weight, written by numpy, not by torch.save, so a
                   test can check the copy bit for bit without trusting the reader it tests.
malicious.pt       torch.save of a dict holding an object whose __reduce__ calls os.system: loading it with Python's
                   pickle would run a shell command. It must be refused.
"""
import collections
import os

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleDict({"fc1": nn.Linear(2, 64), "fc2": nn.Linear(64, 64), "head": nn.Linear(64, 5)})
        self.extra = nn.Linear(3, 1)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo weights-fixture-was-executed > /tmp/dashboard-pwned",))


here = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1234)
net = Net()
torch.save(net.state_dict(), os.path.join(here, "state_dict.pt"))
net.layers["fc1"].weight.detach().numpy().astype("<f4").tofile(os.path.join(here, "fc1_weight.f32"))
torch.save(collections.OrderedDict([("layers.fc1.weight", torch.zeros(64, 2)), ("evil", Evil())]), os.path.join(here, "malicious.pt"))
