// Every kernel the project relies on for a forward or backward pass: wasm against the cpu
// reference on fresh random inputs, outputs and gradients within 1e-4 relative.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { getKernel } from '@tensorflow/tfjs-core';
import { initEngine, tf } from '../../src/engine/index.ts';
import { KERNEL_CASES } from '../../src/engine/kernel-cases.ts';
import { checkCaseParity, PARITY_TOLERANCE } from '../../src/engine/self-check.ts';
import { WASM_TRAINING_KERNELS } from '../../src/engine/wasm-kernels/register.ts';

const backend = process.env['INNTROSPECT_BACKEND'] ?? 'wasm';

describe(`kernel parity: ${backend} vs cpu`, () => {
  before(async () => { await initEngine({ backend }); });

  const ownKernels = new Set(WASM_TRAINING_KERNELS.map((k) => k.config.kernelName));
  for (const kernelCase of KERNEL_CASES) {
    test(kernelCase.name, async () => {
      // IS_TEST makes the engine verify that a kernel leaves no intermediate buffer behind. Only
      // for cases that run our kernels: tfjs's own custom-gradient ops (logSoftmax) trip it.
      const checkLeaks = kernelCase.kernels.some((k) => ownKernels.has(k));
      tf.env().set('IS_TEST', checkLeaks);
      // Two seeds: fresh inputs each time, not one lucky draw.
      for (const seed of [11, 29]) {
        const result = await checkCaseParity(kernelCase, backend, 'cpu', seed);
        assert.equal(result.failure, undefined, `${kernelCase.name} threw on ${backend}: ${result.failure}`);
        assert.ok(result.outputError < PARITY_TOLERANCE, `${kernelCase.name}: output error ${result.outputError}`);
        assert.ok(result.gradientError < PARITY_TOLERANCE, `${kernelCase.name}: gradient error ${result.gradientError}`);
      }
      tf.env().set('IS_TEST', false);
    });
  }

  test('every kernel we install on wasm is registered and exercised by a parity case', { skip: backend !== 'wasm' }, async () => {
    await initEngine({ backend: 'wasm' });
    const exercised = new Set(KERNEL_CASES.flatMap((c) => c.kernels));
    for (const { config } of WASM_TRAINING_KERNELS) {
      assert.ok(getKernel(config.kernelName, 'wasm'), `${config.kernelName} is not registered on wasm`);
      assert.ok(exercised.has(config.kernelName), `${config.kernelName} has no parity case`);
    }
  });

  test('a training kernel that is missing fails its case, not silently', { skip: backend !== 'wasm' }, async () => {
    const { unregisterKernel, registerKernel } = await import('@tensorflow/tfjs-core');
    const ours = getKernel('Conv2DBackpropFilter', 'wasm')!;
    unregisterKernel('Conv2DBackpropFilter', 'wasm');
    try {
      const conv = KERNEL_CASES.find((c) => c.name === 'conv2d 3x3 s2 same')!;
      const result = await checkCaseParity(conv, 'wasm');
      assert.equal(result.ok, false);
      assert.match(result.failure ?? '', /Conv2DBackpropFilter/);
    } finally {
      registerKernel(ours);
    }
  });
});
