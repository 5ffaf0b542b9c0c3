/**
 * Installs inntrospect's training kernels on the wasm backend. Must run after the backend is
 * initialised: the stock kernels we wrap get their wasm bindings in their setup step, so they
 * are remembered (and only then replaced) once the backend exists.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { rememberStockKernel } from './kernel-scope.ts';
import { batchMatMulConfig, fusedMatMulConfig } from './matmul.ts';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop.ts';
import { gatherConfig, unsortedSegmentSumConfig } from './gather.ts';
import { tileConfig } from './tile.ts';
import { maxPoolGradConfig } from './max-pool-grad.ts';
import { signConfig } from './sign.ts';
import { WASM_BLOCK_KERNELS } from './coupling.ts';

/** Every kernel we register on wasm, with why: replaced (slow stock path) or added (missing). */
export const WASM_TRAINING_KERNELS: ReadonlyArray<{ config: KernelConfig; reason: 'added' | 'replaced' }> = [
  { config: batchMatMulConfig, reason: 'replaced' },
  { config: fusedMatMulConfig, reason: 'replaced' },
  { config: conv2DBackpropFilterConfig, reason: 'added' },
  { config: conv2DBackpropInputConfig, reason: 'replaced' },
  { config: depthwiseBackpropInputConfig, reason: 'added' },
  { config: depthwiseBackpropFilterConfig, reason: 'added' },
  { config: unsortedSegmentSumConfig, reason: 'added' },
  { config: gatherConfig, reason: 'replaced' },
  { config: tileConfig, reason: 'replaced' },
  { config: maxPoolGradConfig, reason: 'replaced' },
  { config: signConfig, reason: 'replaced' },
];

/**
 * Our own kernels, not TensorFlow.js ones: the fused flow block (./coupling.ts). The cpu backend
 * has no counterpart, so test/flows/fused.test.ts checks them against the unfused flow instead of
 * a parity case.
 */
export { WASM_BLOCK_KERNELS };

const installed = new Set<string>();

/** Idempotent: a second call changes nothing. Returns the kernel names now provided by us. */
export function installWasmTrainingKernels(): string[] {
  for (const config of [...WASM_TRAINING_KERNELS.map((k) => k.config), ...WASM_BLOCK_KERNELS]) {
    const name = config.kernelName;
    if (installed.has(name)) continue;
    rememberStockKernel(name);
    if (getKernel(name, 'wasm')) unregisterKernel(name, 'wasm');
    registerKernel(config);
    installed.add(name);
  }
  return [...installed];
}
