/** `inntrospect layers <model-dir|zoo-model>`: every layer with its output shape and whether it is a cut. */
import { initEngine } from '../engine/index.ts';
import type { LayerInfo } from '../models/greybox.ts';
import { ZOO } from '../models/layers-model-node.ts';
import { loadSplittable } from '../pipeline/splittable-source.ts';

export interface LayersCommandOptions {
  backend?: string;
  json?: boolean;
  /** Only list the clean cut points. */
  cuts?: boolean;
}

/** ONNX: every node is a Φ; the last column says whether Ψ exists there (a clean cut). */
function formatOnnxTable(layers: LayerInfo[]): string {
  const rows = layers.map((l) => [l.name, l.className, l.outputShape.length ? l.outputShape.join('×') : '-', l.cut ? 'clean' : `Φ only (${l.reason?.replace(/^Φ only: /, '') ?? ''})`]);
  const header = ['node', 'op', 'output (NHWC for 4-D)', 'cut'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatLayerTable(layers: LayerInfo[]): string {
  const rows = layers.map((l) => [l.name, l.className, l.outputShape.length ? l.outputShape.join('×') : '-', l.cut ? 'yes' : `no: ${l.reason ?? ''}`]);
  const header = ['layer', 'type', 'output', 'cut'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export async function layersCommand(model: string, options: LayersCommandOptions): Promise<void> {
  await initEngine({ backend: options.backend });
  const { splittable, zoo, onnx, dispose } = await loadSplittable(model);
  const all = splittable.layers();
  if (onnx) {
    // Every node output is a valid Φ, so --cuts lists them all with their cleanliness.
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ model: splittable.name, inputShape: splittable.inputShape, onnx, layers: all })}\n`);
    } else {
      const head = [
        `model   ${splittable.name} (ONNX, opset ${onnx.opset}, IR ${onnx.irVersion}, produced by ${onnx.producer})`,
        `input   '${onnx.inputName}' [${onnx.inputDims.join(', ')}] (NCHW); fed as ${splittable.inputShape.join('×')} images`,
        `nodes   ${all.length} (every one a Φ), of which ${all.filter((l) => l.cut).length} are clean cuts (Ψ = the rest of the graph)`,
        '',
      ];
      process.stdout.write(`${head.join('\n')}${formatOnnxTable(all)}\n`);
    }
    dispose();
    return;
  }
  const layers = options.cuts ? all.filter((l) => l.cut) : all;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ model: splittable.name, inputShape: splittable.inputShape, zoo: zoo ?? null, layers })}\n`);
    dispose();
    return;
  }
  const head = [
    `model   ${splittable.name}${zoo ? ` (${zoo.description})` : ''}`,
    `input   ${splittable.inputShape.join('×')}${zoo ? `, pixel values in [${zoo.inputRange.join(', ')}]` : ''}`,
    `layers  ${all.length}, of which ${all.filter((l) => l.cut).length} are clean cut points (z = Φ(x) can be taken there)`,
    '',
  ];
  process.stdout.write(`${head.join('\n')}${formatLayerTable(layers)}\n`);
  dispose();
}

export const zooModelIds = (): string[] => Object.keys(ZOO);
