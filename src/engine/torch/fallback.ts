/**
 * The cpu bridge: runs a kernel the torch backend does not compute natively on the cpu
 * reference backend. Inputs are copied from libtorch to cpu, the cpu kernel runs, and its
 * outputs are copied back; every cpu buffer is released before returning. Slow but correct:
 * a missing native kernel costs speed, never a wrong result.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, type KernelBackend, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { TorchBackend } from './backend.ts';

type KernelInputs = NamedTensorInfoMap | TensorInfo[];

/** Counts of fallback runs per kernel since the process started (for reports and tests). */
export const fallbackCalls = new Map<string, number>();

function cpuBackend(): KernelBackend {
  const cpu = tf.findBackend('cpu');
  if (!cpu) throw new Error('the torch backend needs the cpu backend for kernels it lacks, and cpu is not registered');
  // Silence cpu's "install tfjs-node" banner: here it is only the bridge (see src/engine/index.ts).
  (cpu as unknown as { firstUse?: boolean }).firstUse = false;
  return cpu;
}

export function runOnCpu(kernelName: string, inputs: KernelInputs, attrs: NamedAttrMap, torch: TorchBackend): TensorInfo | TensorInfo[] {
  const config = getKernel(kernelName, 'cpu');
  if (!config) throw new Error(`kernel '${kernelName}' is implemented neither by the torch backend nor by cpu`);
  fallbackCalls.set(kernelName, (fallbackCalls.get(kernelName) ?? 0) + 1);
  const cpu = cpuBackend();
  const written: TensorInfo[] = [];
  const toCpu = (info: TensorInfo | undefined): TensorInfo | undefined => {
    if (!info) return info;
    const copy = { dataId: cpu.write(torch.readSync(info.dataId), info.shape, info.dtype), shape: info.shape, dtype: info.dtype };
    written.push(copy);
    return copy;
  };
  let outputs: TensorInfo[] = [];
  try {
    const cpuInputs = Array.isArray(inputs)
      ? inputs.map((info) => toCpu(info)!)
      : Object.fromEntries(Object.entries(inputs).map(([name, info]) => [name, toCpu(info)]));
    const result = config.kernelFunc({ inputs: cpuInputs as NamedTensorInfoMap, attrs, backend: cpu });
    outputs = Array.isArray(result) ? result : [result];
    const copied = outputs.map((out) => torch.makeTensorInfo(out.shape, out.dtype, cpu.readSync(out.dataId) as Float32Array));
    return Array.isArray(result) ? copied : copied[0]!;
  } finally {
    // cpu's refcounting: an output that is an input (Reshape, Identity) holds an extra reference.
    for (const info of [...outputs, ...written]) cpu.disposeData(info.dataId);
  }
}
