#!/usr/bin/env python3
"""Builds the ONNX reference models the tests compare inntrospect's ONNX runner against.

torchvision 0.14 architectures (AlexNet, VGG-11, ResNet-18, SqueezeNet 1.1, MobileNetV2) with
seeded random weights (no downloads; batch-norm statistics randomised too, so they matter),
exported with torch.onnx.export at two opsets:

  opset 11: training=EVAL (batch norm folded into the convolutions), fixed batch;
  opset 17: training=PRESERVE on the eval-mode model (BatchNormalization nodes kept), dynamic batch.

For each export it writes PyTorch's own outputs on a fixed input: the logits, three intermediate
node outputs (found by exporting the model once more with them as extra graph outputs, which
names their ONNX nodes), and the gradient of sum(logits * w) with respect to the input, for a
fixed w, and of sum(Φ²) at each of the three nodes. A sixth, small network ('operators') exercises the operators the five do not export. AlexNet and VGG-11 keep torchvision's feature extractors; their heads are narrowed
(AdaptiveAvgPool2d(1) and 256/512-wide linear layers instead of 6×6/7×7 pooling and 4096-wide
layers) so that they run at 64/32 px and stay small; the other three are torchvision's as they are.

Usage: /usr/bin/python3 scripts/onnx-reference-models.py [out-dir]   (default .cache/onnx-reference)
Writes <model>-opset<N>.onnx and <model>-opset<N>.json; skips files that already exist with the
same script version. With ONNX_BENCH_MODEL=PATH it writes only the benchmark's model there:
torchvision's ResNet-18 unchanged (1 000 classes, seeded weights) at 224 px.
"""
import io
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import onnx

VERSION = 2
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '.cache', 'onnx-reference')


def narrow_head(model, width, features):
    model.avgpool = nn.AdaptiveAvgPool2d(1)
    model.classifier = nn.Sequential(
        nn.Dropout(), nn.Linear(features, width), nn.ReLU(inplace=True),
        nn.Dropout(), nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, 10))
    return model


def alexnet():
    return narrow_head(torchvision.models.alexnet(num_classes=10), 256, 256), 64, ['features.2', 'features.7', 'classifier.2']


def vgg11():
    return narrow_head(torchvision.models.vgg11(num_classes=10), 512, 512), 32, ['features.2', 'features.10', 'features.20']


def resnet18():
    return torchvision.models.resnet18(num_classes=10), 64, ['maxpool', 'layer2', 'layer4']


def squeezenet():
    return torchvision.models.squeezenet1_1(num_classes=10), 64, ['features.2', 'features.6', 'features.12']


def mobilenet():
    return torchvision.models.mobilenet_v2(num_classes=10), 64, ['features.1', 'features.7', 'features.18']


class Operators(nn.Module):
    """The operators torchvision's five do not export, in one small network: grouped and dilated
    convolution, LeakyReLU, ceil-mode average pooling without the pads in the divisor, HardSwish,
    HardSigmoid, reflect and constant Pad, Sigmoid, Tanh, ReduceMean, a channel Softmax, a
    transpose, a view through Shape/Gather/Concat/Reshape, MatMul, Sub/Div and LogSoftmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=2, dilation=2, groups=1)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
        self.bn = nn.BatchNorm2d(8)
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.hs = nn.Hardswish()
        self.hsig = nn.Hardsigmoid()
        self.project = nn.Parameter(torch.randn(8, 10) * 0.3)

    def forward(self, x):
        x = self.act(self.conv1(x))
        x = self.bn(self.conv2(F.pad(x, (1, 1, 1, 1), mode='reflect')))
        x = self.pool(self.hs(x))
        x = F.pad(x, (0, 1, 1, 0), value=0.5) * self.hsig(x.mean(dim=(2, 3), keepdim=True))
        x = torch.sigmoid(x) - torch.tanh(x) / 2
        x = torch.softmax(x, dim=1).permute(0, 2, 3, 1)
        x = x.reshape(x.size(0), -1, 8).mean(dim=1)
        return torch.log_softmax(torch.matmul(x, self.project), dim=1)


def operators():
    return Operators(), 20, ['act', 'pool', 'hs']


MODELS = {'alexnet': alexnet, 'vgg11': vgg11, 'resnet18': resnet18, 'squeezenet1_1': squeezenet, 'mobilenet_v2': mobilenet, 'operators': operators}


class WithIntermediates(nn.Module):
    """The model, returning its logits and the outputs of the named sub-modules."""

    def __init__(self, model, names):
        super().__init__()
        self.model = model
        self.names = names
        self.saved = {}
        for name in names:
            model.get_submodule(name).register_forward_hook(self._hook(name))

    def _hook(self, name):
        def save(_module, _inputs, output):
            self.saved[name] = output
        return save

    def forward(self, x):
        logits = self.model(x)
        return (logits, *[self.saved[n] for n in self.names])


def randomise(model, seed):
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def export(model, x, opset, outputs, dynamic):
    f = io.BytesIO()
    mode = torch.onnx.TrainingMode.EVAL if opset < 13 else torch.onnx.TrainingMode.PRESERVE
    axes = {'input': {0: 'batch'}, **{o: {0: 'batch'} for o in outputs}} if dynamic else None
    torch.onnx.export(model, x, f, opset_version=opset, input_names=['input'], output_names=outputs,
                      training=mode, dynamic_axes=axes, do_constant_folding=True)
    return onnx.load_from_string(f.getvalue())


def build(name, opset):
    base = os.path.join(OUT, f'{name}-opset{opset}')
    if os.path.exists(base + '.json'):
        with open(base + '.json') as fh:
            if json.load(fh).get('version') == VERSION:
                return
    torch.manual_seed(0)
    model, size, hooked = MODELS[name]()
    randomise(model, 0)
    torch.manual_seed(1)
    x = torch.randn(2, 3, size, size)
    w = torch.randn(2, 10)
    x = x if name != 'operators' else x * 2
    dynamic = opset >= 13
    plain = export(model, x, opset, ['logits'], dynamic)
    wrapped = WithIntermediates(model, hooked).eval()
    names = ['logits'] + [f'cut{i}' for i in range(len(hooked))]
    marked = export(wrapped, x, opset, names, dynamic)
    producers = {o: n for n in marked.graph.node for o in n.output}
    nodes = {n.name: n.op_type for n in plain.graph.node}
    cuts = []
    for i, module in enumerate(hooked):
        node = producers[f'cut{i}']
        # The wrapper's scope adds '/model' in front of the plain export's node names.
        plain_name = node.name[len('/model'):] if node.name.startswith('/model/') else node.name
        if nodes.get(plain_name) != node.op_type:
            raise SystemExit(f'{name} opset {opset}: node {plain_name} ({node.op_type}) for {module} is not in the plain export')
        cuts.append({'module': module, 'node': plain_name, 'op': node.op_type})
    xg = x.clone().requires_grad_(True)
    outs = wrapped(xg)
    (outs[0] * w).sum().backward()
    # ∂/∂x of sum(Φ(x)²) at each cut: the gradient through each part of the graph.
    cut_grads = []
    for i in range(len(hooked)):
        xi = x.clone().requires_grad_(True)
        (wrapped(xi)[i + 1] ** 2).sum().backward()
        cut_grads.append(xi.grad.flatten().tolist())
    record = {
        'version': VERSION, 'model': name, 'opset': opset, 'size': size, 'dynamicBatch': dynamic,
        'input': {'shape': list(x.shape), 'data': x.flatten().tolist()},
        'weights': {'shape': list(w.shape), 'data': w.flatten().tolist()},
        'logits': {'shape': list(outs[0].shape), 'data': outs[0].detach().flatten().tolist()},
        'cuts': [{**c, 'shape': list(o.shape), 'data': o.detach().flatten().tolist(), 'gradient': g} for c, o, g in zip(cuts, outs[1:], cut_grads)],
        'inputGradient': {'shape': list(xg.grad.shape), 'data': xg.grad.flatten().tolist()},
        'operators': sorted({n.op_type for n in plain.graph.node}),
    }
    onnx.save(plain, base + '.onnx')
    with open(base + '.json', 'w') as fh:
        json.dump(record, fh)
    print(f'{base}.onnx: {len(plain.graph.node)} nodes, operators {", ".join(record["operators"])}')


def bench_model(path):
    """torchvision ResNet-18 as it is (1 000 classes) at 224 px, seeded, opset 17, for `npm run bench:onnx`."""
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.manual_seed(0)
    model = randomise(torchvision.models.resnet18(), 0)
    onnx.save(export(model, torch.randn(1, 3, 224, 224), 17, ['logits'], True), path)
    print(f'{path}: ResNet-18 at 224 px')


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    if os.environ.get('ONNX_BENCH_MODEL'):
        bench_model(os.environ['ONNX_BENCH_MODEL'])
        return
    only = os.environ.get('ONNX_REFERENCE_MODELS')
    for name in MODELS:
        if only and name not in only.split(','):
            continue
        for opset in (11, 17):
            build(name, opset)


if __name__ == '__main__':
    main()
