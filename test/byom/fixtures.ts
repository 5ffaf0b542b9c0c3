// Small model folders written by the tests: a TensorFlow.js Layers model (model.json + one
// shard) and a hand-written TensorFlow.js graph model (conv → relu → mean, plus a Cast node
// whose output is int32).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs';

/** Writes a small Layers CNN (input [size, size, 3]; 3 logits, or probabilities with `softmax`) to dir; returns dir. */
export async function writeLayersModel(dir: string, size = 16, card?: object, softmax = false): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [size, size, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      tfl.layers.globalAveragePooling2d({ name: 'gap' }),
      tfl.layers.dense({ units: 3, name: 'logits', ...(softmax ? { activation: 'softmax' as const } : {}), kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  await model.save(tfl.io.withSaveHandler(async (artifacts) => {
    writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
    writeFileSync(join(dir, 'model.json'), JSON.stringify({
      modelTopology: artifacts.modelTopology, format: 'layers-model', generatedBy: 'inntrospect test',
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
    }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  model.dispose();
  if (card) writeFileSync(join(dir, 'model-card.json'), JSON.stringify(card));
  return dir;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const shapeAttr = (dims: number[]) => ({ dim: dims.map((d) => ({ size: String(d) })) });

/**
 * Writes a graph model (format 'graph-model'): input [-1, size, size, 3] → Conv2D (3×3, 4 filters)
 * → Relu ('relu') → Mean over H, W ('pool', the output [B, 4]); 'cast' = Cast(relu) to int32.
 */
export function writeGraphModel(dir: string, size = 8): string {
  mkdirSync(dir, { recursive: true });
  const weights = new Float32Array(3 * 3 * 3 * 4).map((_, i) => Math.sin(i * 1.7) * 0.3);
  const axes = new Int32Array([1, 2]);
  const bytes = new Uint8Array(weights.byteLength + axes.byteLength);
  bytes.set(new Uint8Array(weights.buffer), 0);
  bytes.set(new Uint8Array(axes.buffer), weights.byteLength);
  writeFileSync(join(dir, 'group1-shard1of1.bin'), bytes);
  const node = [
    { name: 'input', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: shapeAttr([-1, size, size, 3]) } } },
    { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: shapeAttr([3, 3, 3, 4]) } } } },
    { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: shapeAttr([2]) } } } },
    { name: 'conv', op: 'Conv2D', input: ['input', 'w'], attr: { T: { type: 'DT_FLOAT' }, strides: { list: { i: ['1', '1', '1', '1'] } }, padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: { list: { i: ['1', '1', '1', '1'] } } } },
    { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: { type: 'DT_FLOAT' } } },
    { name: 'pool', op: 'Mean', input: ['relu', 'axes'], attr: { T: { type: 'DT_FLOAT' }, keep_dims: { b: false } } },
    { name: 'cast', op: 'Cast', input: ['relu'], attr: { SrcT: { type: 'DT_FLOAT' }, DstT: { type: 'DT_INT32' } } },
  ];
  writeFileSync(join(dir, 'model.json'), JSON.stringify({
    format: 'graph-model', generatedBy: 'inntrospect test', convertedBy: null,
    modelTopology: { node, library: {}, versions: { producer: 1 } },
    signature: {
      inputs: { x: { name: 'input:0', dtype: 'DT_FLOAT', tensorShape: shapeAttr([-1, size, size, 3]) } },
      outputs: { y: { name: 'pool:0', dtype: 'DT_FLOAT', tensorShape: shapeAttr([-1, 4]) } },
    },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [{ name: 'w', shape: [3, 3, 3, 4], dtype: 'float32' }, { name: 'axes', shape: [2], dtype: 'int32' }] }],
  }));
  return dir;
}
