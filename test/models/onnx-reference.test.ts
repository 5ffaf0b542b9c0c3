// The ONNX runner against PyTorch: torchvision AlexNet, VGG-11, ResNet-18, SqueezeNet 1.1 and
// MobileNetV2 (seeded random weights) exported at opsets 11 and 17 by
// scripts/onnx-reference-models.py, which also writes PyTorch's logits, three intermediate node
// outputs and the input gradients of sum(logits · w) and sum(Φ²). Φ at those nodes, f, ∂f/∂x and ∂Φ/∂x must agree to
// a relative error below 1e-4 on the backend under test. The models are generated into the
// ignored .cache/ (CI generates them); without Debian's python3-torch the test is skipped.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { initEngine, tf } from '../../src/engine/index.ts';
import { parseOnnx } from '../../src/models/onnx/onnx-graph.ts';
import { loadOnnxProgram } from '../../src/models/onnx/program.ts';

const CACHE = join(import.meta.dirname, '..', '..', '.cache', 'onnx-reference');
const MODELS = ['alexnet', 'vgg11', 'resnet18', 'squeezenet1_1', 'mobilenet_v2', 'operators'];
const OPSETS = [11, 17];
const PYTHON = '/usr/bin/python3';

interface Stored { shape: number[]; data: number[] }
interface Reference {
  size: number;
  input: Stored;
  weights: Stored;
  logits: Stored;
  /** Φ at three nodes, with ∂ sum(Φ²)/∂x. */
  cuts: (Stored & { node: string; module: string; op: string; gradient: number[] })[];
  inputGradient: Stored;
}

/** Why the references cannot be had here, or null once they exist. */
function generate(): string | null {
  const want = MODELS.flatMap((m) => OPSETS.map((o) => join(CACHE, `${m}-opset${o}.json`)));
  if (want.every(existsSync)) return null;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) return `Debian's python3-torch, python3-torchvision and python3-onnx are needed to build the reference models (${PYTHON}: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
  const run = spawnSync(PYTHON, [join(import.meta.dirname, '..', '..', 'scripts', 'onnx-reference-models.py'), CACHE], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`scripts/onnx-reference-models.py failed: ${run.stderr}`);
  return null;
}

const skip = generate();

/** NCHW data → NHWC tensor. */
function nhwc(s: Stored): tf.Tensor {
  return tf.tidy(() => (s.shape.length === 4 ? tf.transpose(tf.tensor(s.data, s.shape), [0, 2, 3, 1]) : tf.tensor(s.data, s.shape)));
}

function relativeError(got: tf.Tensor, want: tf.Tensor): number {
  return tf.tidy(() => tf.norm(tf.sub(got, want)).dataSync()[0]! / tf.norm(want).dataSync()[0]!);
}

describe('ONNX models against PyTorch', { skip: skip ?? false }, () => {
  before(async () => {
    await initEngine();
  });

  for (const model of MODELS) {
    for (const opset of OPSETS) {
      test(`${model} at opset ${opset}: Φ at three nodes, f and ∂f/∂x`, () => {
        const base = join(CACHE, `${model}-opset${opset}`);
        const ref = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Reference;
        const graph = parseOnnx(readFileSync(`${base}.onnx`), `${model}-opset${opset}.onnx`);
        assert.equal(graph.opset, opset);
        const program = loadOnnxProgram(graph, [3, ref.size, ref.size]);
        const x = nhwc(ref.input);
        const w = tf.tensor(ref.weights.data, ref.weights.shape);
        const before = tf.memory().numTensors;
        const errors: string[] = [];
        const check = (what: string, got: tf.Tensor, want: tf.Tensor) => {
          assert.deepEqual(got.shape, want.shape, `${what}: shape`);
          const e = relativeError(got, want);
          if (!(e < 1e-4)) errors.push(`${what}: relative error ${e.toExponential(2)}`);
          tf.dispose([got, want]);
        };
        check('logits', program.run(x), tf.tensor(ref.logits.data, ref.logits.shape));
        for (const cut of ref.cuts) {
          assert.ok(program.cut(cut.node), `${cut.node} (${cut.module}) is listed`);
          const output = program.cut(cut.node)!.output;
          check(`Φ at ${cut.node} (${cut.module})`, program.run(x, output), nhwc(cut));
          const g = tf.grad((input: tf.Tensor) => tf.sum(tf.square(program.run(input, output))))(x);
          check(`∂Φ/∂x at ${cut.node}`, g, nhwc({ shape: ref.input.shape, data: cut.gradient }));
        }
        const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(program.run(input), w)))(x);
        check('∂f/∂x', grad, nhwc(ref.inputGradient));
        assert.equal(tf.memory().numTensors, before, 'no tensors leak from runs');
        assert.deepEqual(errors, []);
        tf.dispose([x, w]);
        program.dispose();
      });
    }
  }
});
