/**
 * Kernel self-check: runs every parity case on a backend and on the cpu reference and reports
 * the relative error of outputs and gradients. Used by `inntrospect engine` and the tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from './index.ts';
import { KERNEL_CASES, relativeError, runKernelCase, type KernelCase } from './kernel-cases.ts';

export const PARITY_TOLERANCE = 1e-4;

export interface CaseParity {
  name: string;
  kernels: string[];
  outputError: number;
  gradientError: number;
  ok: boolean;
  /** Set when the case threw on the checked backend (an unregistered kernel, say). */
  failure?: string;
}

export interface SelfCheckReport {
  backend: string;
  reference: string;
  tolerance: number;
  passed: number;
  failed: number;
  cases: CaseParity[];
}

export async function checkCaseParity(kernelCase: KernelCase, backend: string, reference = 'cpu', seed = 1): Promise<CaseParity> {
  const previous = tf.getBackend();
  try {
    await initEngine({ backend: reference });
    const expected = runKernelCase(kernelCase, seed);
    await initEngine({ backend });
    let actual;
    try {
      actual = runKernelCase(kernelCase, seed);
    } catch (error) {
      return {
        name: kernelCase.name, kernels: kernelCase.kernels, outputError: Infinity, gradientError: Infinity, ok: false,
        failure: error instanceof Error ? error.message : String(error),
      };
    }
    const outputError = relativeError(actual.output, expected.output);
    const gradientError = Math.max(0, ...actual.grads.map((g, i) => relativeError(g, expected.grads[i]!)));
    const ok = outputError < PARITY_TOLERANCE && gradientError < PARITY_TOLERANCE;
    return { name: kernelCase.name, kernels: kernelCase.kernels, outputError, gradientError, ok };
  } finally {
    if (previous) await initEngine({ backend: previous });
  }
}

export async function selfCheck(backend: string, cases: KernelCase[] = KERNEL_CASES): Promise<SelfCheckReport> {
  const results: CaseParity[] = [];
  for (const kernelCase of cases) results.push(await checkCaseParity(kernelCase, backend));
  const passed = results.filter((r) => r.ok).length;
  return { backend, reference: 'cpu', tolerance: PARITY_TOLERANCE, passed, failed: results.length - passed, cases: results };
}
