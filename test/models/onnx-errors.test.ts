// ONNX files written here with the schema of src/models/onnx/onnx-encode.ts: the hand decoder
// reads what protobufjs' reflection writes, a small graph gives its known answer, external data
// are read (and inlined for the explorer), and every user error gets a clear message and, from the
// CLI, a non-zero exit: a truncated file, an unknown operator, a node name that does not exist
// (close names listed), an input of a rank the card does not describe, a missing external data file.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, tf } from '../../src/engine/index.ts';
import { encodeModelProto } from '../../src/models/onnx/onnx-encode.ts';
import { parseOnnx } from '../../src/models/onnx/onnx-graph.ts';
import { openOnnxModel } from '../../src/models/onnx/onnx-model.ts';
import { decodeModelProto } from '../../src/models/onnx/onnx-schema.ts';
import { browserModelFiles, modelFingerprint, openModelUnderStudy } from '../../src/pipeline/external-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'inntrospect-onnx-errors-'));

function floats(name: string, dims: number[], values: number[]) {
  return { name, dims, dataType: 1, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

interface NodeSpec { name: string; opType: string; input: string[]; output: string[]; attribute?: object[] }

/** A model with one image input [1, c, h, w] (or `inputDims`), the given nodes and initializers. */
function model(nodes: NodeSpec[], initializer: object[], options: { inputDims?: (number | string)[]; output?: string; opset?: number } = {}): Uint8Array {
  const dims = (options.inputDims ?? [1, 1, 4, 4]).map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return encodeModelProto({
    irVersion: 8, producerName: 'inntrospect-test', producerVersion: '1', opsetImport: [{ domain: '', version: options.opset ?? 13 }],
    graph: {
      name: 'g', node: nodes, initializer,
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: dims } } } }],
      output: [{ name: options.output ?? nodes[nodes.length - 1]!.output[0], type: { tensorType: { elemType: 1 } } }],
    },
  });
}

/** x → Conv(1→2, 3×3, pads 1) → Relu → GlobalAveragePool → Flatten: 2 outputs. */
function smallCnn(weightTensor: object = floats('w', [2, 1, 3, 3], [...Array(9).fill(1), ...Array(9).fill(-1)])): Uint8Array {
  return model([
    { name: '/conv/Conv', opType: 'Conv', input: ['x', 'w', 'b'], output: ['c'], attribute: [{ name: 'pads', type: 7, ints: [1, 1, 1, 1] }, { name: 'kernel_shape', type: 7, ints: [3, 3] }] },
    { name: '/relu/Relu', opType: 'Relu', input: ['c'], output: ['r'] },
    { name: '/pool/GlobalAveragePool', opType: 'GlobalAveragePool', input: ['r'], output: ['p'] },
    { name: '/Flatten', opType: 'Flatten', input: ['p'], output: ['logits'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
  ], [weightTensor, floats('b', [2], [0.5, 0.25])]);
}

function write(name: string, bytes: Uint8Array, card?: object): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'model.onnx'), bytes);
  if (card) writeFileSync(join(folder, 'model-card.json'), JSON.stringify(card));
  return join(folder, 'model.onnx');
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/inntrospect.js', ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('ONNX files: decoding, a known answer, external data, and the errors a user hits', () => {
  before(async () => {
    await initEngine();
  });

  test('the hand decoder reads what protobufjs reflection writes (attributes of every kind, int64, dims by name)', () => {
    const bytes = model([{
      name: 'n', opType: 'Identity', input: ['x'], output: ['y'],
      attribute: [
        { name: 'f', type: 1, f: 0.5 }, { name: 'i', type: 2, i: -3 }, { name: 's', type: 3, s: new TextEncoder().encode('SAME_UPPER') },
        { name: 'floats', type: 6, floats: [1.5, -2] }, { name: 'ints', type: 7, ints: [1, 2, 2 ** 40] },
        { name: 't', type: 4, t: { dims: [2], dataType: 7, int64Data: [5, -6] } },
      ],
    }], [], { inputDims: ['batch', 3, 8, 8], opset: 11 });
    const proto = decodeModelProto(bytes, 'm.onnx');
    assert.equal(proto.producerName, 'inntrospect-test');
    assert.deepEqual(proto.opsetImport, [{ domain: '', version: 11 }]);
    const g = parseOnnx(bytes, 'm.onnx');
    assert.equal(g.opset, 11);
    assert.deepEqual(g.input.dims, ['batch', 3, 8, 8]);
    const a = g.nodes[0]!.attributes;
    assert.equal(a.get('f'), 0.5);
    assert.equal(a.get('i'), -3);
    assert.equal(a.get('s'), 'SAME_UPPER');
    assert.deepEqual(a.get('floats'), [1.5, -2]);
    assert.deepEqual(a.get('ints'), [1, 2, 2 ** 40]);
    assert.deepEqual(a.get('t'), { dims: [2], kind: 'int', data: [5, -6] });
  });

  test('a small CNN gives its known answer; Φ keeps the model\'s channel order, stored NHWC', () => {
    const m = openOnnxModel(smallCnn(), { spec: 'small', source: 'small.onnx', cardFile: { valueRange: [-1, 1] } });
    assert.equal(m.onnx.opset, 13);
    assert.equal(m.onnx.inputName, 'x');
    // x = 1 everywhere: channel 0 sums its 3×3 neighbourhood (9 inside, 4 in corners, 6 on edges) + 0.5; channel 1 is negative → 0 after Relu.
    const x = tf.ones([1, 4, 4, 1]);
    const z = m.layer('/conv/Conv').phi(x);
    assert.deepEqual(z.shape, [1, 4, 4, 2]);
    const c = z.arraySync() as number[][][][];
    assert.deepEqual([c[0]![0]![0]![0], c[0]![1]![1]![0], c[0]![0]![1]![0], c[0]![1]![1]![1]], [4.5, 9.5, 6.5, -8.75]);
    const f = m.classify(x).arraySync()[0]!;
    assert.ok(Math.abs(f[0]! - (4 * 4.5 + 8 * 6.5 + 4 * 9.5) / 16) < 1e-5 && f[1] === 0, JSON.stringify(f));
    // Every node is a clean cut in a chain; Ψ at the conv gives f back.
    assert.ok(m.layers().every((l) => l.cut));
    const back = m.layer('/conv/Conv').psi!(z).arraySync();
    assert.deepEqual(back, [f]);
    tf.dispose([x, z]);
    m.dispose();
  });

  test('Dropout, ReduceMean, Squeeze (axes as input at opset 13, as attribute at 11) and Clip with min/max inputs', () => {
    for (const opset of [11, 13]) {
      const axes = opset >= 13 ? { input: ['m', 'axes'], attribute: [] } : { input: ['m'], attribute: [{ name: 'axes', type: 7, ints: [2, 3] }] };
      const clip = { input: ['s', 'lo', 'hi'] };
      const bytes = model([
        { name: 'drop', opType: 'Dropout', input: ['x'], output: ['d'] },
        { name: 'mean', opType: 'ReduceMean', input: ['d'], output: ['m'], attribute: [{ name: 'axes', type: 7, ints: [2, 3] }, { name: 'keepdims', type: 2, i: 1 }] },
        { name: 'squeeze', opType: 'Squeeze', ...axes, output: ['s'] },
        { name: 'clip', opType: 'Clip', ...clip, output: ['y'] },
      ], [
        { name: 'axes', dims: [2], dataType: 7, int64Data: [2, 3] },
        floats('lo', [], [0]), floats('hi', [], [0.5]),
      ], { inputDims: [1, 3, 2, 2], opset });
      const m = openOnnxModel(bytes, { spec: `ops${opset}`, source: `ops${opset}.onnx`, cardFile: { valueRange: [-1, 1] } });
      // Channel means of [[0.2, 0.4], [0.6, 0.8]] ·(1, −1, 2): 0.5, −0.5, 1 → clipped to [0, 0.5].
      const x = tf.tidy(() => tf.mul(tf.tensor([0.2, 0.4, 0.6, 0.8], [1, 2, 2, 1]), tf.tensor([1, -1, 2], [1, 1, 1, 3])));
      const y = m.classify(x).arraySync()[0]!;
      assert.deepEqual(y.map((v) => Math.round(v * 1e5) / 1e5), [0.5, 0, 0.5], `opset ${opset}`);
      tf.dispose(x);
      m.dispose();
    }
  });

  test('external data: read next to the .onnx file, inlined for the explorer; a missing file is named', async () => {
    const w = [...Array(9).fill(1), ...Array(9).fill(-1)];
    const external = { name: 'w', dims: [2, 1, 3, 3], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '16' }, { key: 'length', value: String(18 * 4) }] };
    const file = write('external', smallCnn(external), { valueRange: [-1, 1] });
    const data = new Uint8Array(16 + 18 * 4);
    data.set(new Uint8Array(Float32Array.from(w).buffer), 16);
    writeFileSync(join(dir, 'external', 'weights.bin'), data);
    const m = await openModelUnderStudy(join(dir, 'external'));
    const x = tf.ones([1, 4, 4, 1]);
    const want = m.classify(x).arraySync();
    const served = await browserModelFiles(file, 'model.onnx');
    assert.equal(served.format, 'onnx');
    const inBrowser = openOnnxModel(served.weights, { spec: 'served', source: 'served', cardFile: served.card });
    assert.deepEqual(inBrowser.classify(x).arraySync(), want);
    tf.dispose(x);
    m.dispose();
    inBrowser.dispose();
    // The fingerprint a cinn run records covers the external data: editing them is caught.
    const before = (await modelFingerprint(join(dir, 'external'))).weightsSha256;
    data[20] = data[20]! ^ 1;
    writeFileSync(join(dir, 'external', 'weights.bin'), data);
    assert.notEqual((await modelFingerprint(join(dir, 'external'))).weightsSha256, before);
    rmSync(join(dir, 'external', 'weights.bin'));
    await assert.rejects(openModelUnderStudy(join(dir, 'external')), /initializer 'w': its data are in the external file 'weights\.bin' \(.*weights\.bin\), which is missing; copy the data file next to model\.onnx/);
    const r = cli(['layers', file]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /external file 'weights\.bin'.*which is missing/);
  });

  test('a truncated file and an unknown operator fail at load with the file, the node and the opset', () => {
    const bytes = smallCnn();
    const truncated = write('truncated', bytes.slice(0, Math.floor(bytes.length / 2)));
    assert.throws(() => parseOnnx(bytes.slice(0, Math.floor(bytes.length / 2)), 'cut.onnx'), /cut\.onnx: not a readable ONNX model \(\d+ bytes; protobuf: .*\); the file is truncated or not an \.onnx export/);
    const r = cli(['layers', truncated]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /model\.onnx: not a readable ONNX model .* the file is truncated/);
    const unknown = write('unknown', model([{ name: 'my_einsum', opType: 'Einsum', input: ['x'], output: ['y'] }], []));
    const u = cli(['layers', unknown]);
    assert.equal(u.status, 1);
    assert.match(u.stderr, /node 'my_einsum' uses operator 'Einsum' \(opset 13\), which inntrospect does not support; the supported operators are .*Conv/);
  });

  test('a node that does not exist lists close names; an input of another rank says what the card describes', async () => {
    write('names', smallCnn(), { valueRange: [0, 1] });
    const m = await openModelUnderStudy(join(dir, 'names'));
    assert.throws(() => m.layer('/relu/Relux'), /no node '\/relu\/Relux' \(5 nodes; the closest names are \/relu\/Relu, .*\); 'inntrospect layers .*' lists them all/);
    m.dispose();
    const flat = model([{ name: 'fc', opType: 'Relu', input: ['x'], output: ['y'] }], [], { inputDims: [1, 784] });
    assert.throws(() => openOnnxModel(flat, { spec: 'flat', source: 'flat.onnx', cardFile: null }), /flat\.onnx: the input 'x' has rank 2 \(\[1, 784\]\); a model card describes image inputs \[batch, channels, height, width\] \(rank 4, NCHW/);
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data.dataset=colormnist', '--ae', 'zoo/colormnist/ae.json', '--model', join(dir, 'names'), '--layer', '/conv/Con', '--runs', join(dir, 'runs')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no node '\/conv\/Con' .*closest names are \/conv\/Conv/);
  });
});
