/**
 * An ONNX graph made runnable: every operator checked at load (an unsupported one is an error
 * naming it, the node and the opset), one pass on a zero image of batch 1 that folds the shape
 * arithmetic and the constants into kept values and records every node's output shape, and a
 * runner that executes only the nodes a request needs:
 *
 * - Φ at a node: the graph from its input to that node's output;
 * - Ψ at a clean cut: the rest of the graph from that output, which is a clean cut when the rest
 *   needs nothing else computed from the image (no skip connection passes around it);
 * - f: the graph to its first output.
 *
 * Everything is TensorFlow.js ops, so it runs on every backend and tfjs differentiates it.
 * Browser-safe.
 */
import { tf } from '../../engine/index.ts';
import type { OnnxGraph, OnnxNode } from './onnx-graph.ts';
import { OPERATORS, type OpContext } from './ops.ts';
import { dyn, onnxShape, plain, type Value } from './values.ts';

/** One node's output as `layers` lists it. */
export interface OnnxCut {
  /** The node's name (the graph input's name for the input itself). */
  name: string;
  /** The value it outputs. */
  output: string;
  opType: string;
  /** The output's shape without the batch axis, as Φ returns it (NHWC for 4-D activations). */
  shape: number[];
  /** The same in the model's own (NCHW) layout. */
  onnxShape: number[];
  /** Whether the output is stored NHWC (a 4-D activation). */
  nhwc: boolean;
  /** Whether Ψ exists here: the rest of the graph needs only this output. */
  clean: boolean;
  /** Why it is not clean, when it is not. */
  reason?: string;
}

export interface OnnxProgram {
  graph: OnnxGraph;
  /** The input and every node that computes from it (folded nodes are not listed), in graph order. */
  cuts: OnnxCut[];
  /** The input as [channels, height, width] (the graph's batch-1 input). */
  inputChw: [number, number, number];
  /** The cut named by a node name or its output value's name; undefined when none. */
  cut(name: string): OnnxCut | undefined;
  /** Runs the graph from its input (`x`: [B, H, W, C] images, the model's NCHW input stored NHWC) to `output`. */
  run(x: tf.Tensor, output?: string): tf.Tensor;
  /** Runs the rest of the graph from a clean cut's output `z` (stored as Φ returns it) to the model's output. */
  runFrom(cut: string, z: tf.Tensor): tf.Tensor;
  /** The graph's first output. */
  outputName: string;
  dispose(): void;
}

export const SUPPORTED_OPERATORS = Object.keys(OPERATORS).sort();

/** Checks every node's operator before anything runs. */
function checkOperators(graph: OnnxGraph): void {
  for (const node of graph.nodes) {
    if (node.domain && node.domain !== 'ai.onnx') {
      throw new Error(`${graph.source}: node '${node.name}' uses operator '${node.opType}' of domain '${node.domain}' (opset ${graph.opset}); inntrospect supports only the default ONNX domain`);
    }
    if (!OPERATORS[node.opType]) {
      throw new Error(`${graph.source}: node '${node.name}' uses operator '${node.opType}' (opset ${graph.opset}), which inntrospect does not support; the supported operators are ${SUPPORTED_OPERATORS.join(', ')}`);
    }
  }
}

/**
 * Loads a parsed graph for a model input of [channels, height, width] (the card's): checks the
 * operators, folds constants and shape arithmetic, and finds the cuts.
 *
 * @example
 *   const program = loadOnnxProgram(parseOnnx(bytes, 'model.onnx'), [3, 224, 224]);
 *   const logits = program.run(images);             // images: [B, 224, 224, 3]
 */
export function loadOnnxProgram(graph: OnnxGraph, inputChw: [number, number, number]): OnnxProgram {
  checkOperators(graph);
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    kept.push(t);
    return tf.keep(t);
  };
  const caches = new Map<string, tf.Tensor>();
  const contextOf = (node: OnnxNode): OpContext => ({
    opset: graph.opset, node, what: `${graph.source}: node '${node.name}' (${node.opType})`,
    cached: (key, make) => {
      const k = `${node.name}\u0000${key}`;
      let t = caches.get(k);
      if (!t) {
        t = tf.tidy(make);
        caches.set(k, keep(t));
      }
      return t;
    },
  });
  // Folded values: initializers and everything computed from constants alone.
  const folded = new Map<string, Value>();
  for (const [name, t] of graph.initializers) {
    folded.set(name, t.kind === 'int' ? { kind: 'ints', dims: t.dims, data: t.data as number[] } : { kind: 'const', t: keep(tf.tensor(t.data as Float32Array, t.dims, 'float32')) });
  }
  const inputName = graph.input.name;
  const producer = new Map<string, OnnxNode>();
  const live: OnnxNode[] = [];
  const shapes = new Map<string, { shape: number[]; onnxShape: number[]; nhwc: boolean; dtype: string }>();
  const contexts = new Map<string, OpContext>();
  try {
    tf.tidy(() => {
      const env = new Map<string, Value>(folded);
      const x: Value = dyn(tf.zeros([1, inputChw[1], inputChw[2], inputChw[0]]), true);
      env.set(inputName, x);
      for (const node of graph.nodes) {
        const ctx = contextOf(node);
        contexts.set(node.name, ctx);
        const inputs = node.inputs.map((name) => {
          if (name === '') return undefined;
          const v = env.get(name);
          if (!v) throw new Error(`${ctx.what}: input '${name}' is produced by no earlier node, initializer or graph input`);
          return v;
        });
        const outs = OPERATORS[node.opType]!(inputs, ctx);
        const constant = inputs.every((v) => v === undefined || v.kind !== 'dyn');
        node.outputs.forEach((name, i) => {
          if (name === '' || !outs[i]) return;
          let v = outs[i]!;
          if (constant) {
            // Computed from constants alone: folded, kept, and never run again.
            if (v.kind !== 'ints') v = { kind: 'const', t: keep(plain(v)) };
            folded.set(name, v);
          } else if (v.kind === 'dyn') {
            shapes.set(name, { shape: v.t.shape.slice(1), onnxShape: onnxShape(v).slice(1), nhwc: v.nhwc, dtype: v.t.dtype });
            producer.set(name, node);
          } else {
            folded.set(name, v);
          }
          env.set(name, v);
        });
        if (!constant && node.outputs.some((o) => producer.get(o) === node)) live.push(node);
      }
    });
  } catch (error) {
    for (const t of kept) t.dispose();
    throw error;
  }
  const outputName = graph.outputs[0]?.name ?? live[live.length - 1]?.outputs[0] ?? '';
  if (!shapes.has(outputName)) {
    for (const t of kept) t.dispose();
    throw new Error(`${graph.source}: the graph's output '${outputName}' does not depend on its input '${inputName}'`);
  }

  /** Nodes needed to compute `target` from the values in `given` (graph input or a cut), in graph order. */
  const neededCache = new Map<string, { nodes: OnnxNode[]; usesInput: boolean }>();
  const needed = (target: string, given: string): { nodes: OnnxNode[]; usesInput: boolean } => {
    const key = `${target}\u0000${given}`;
    const hit = neededCache.get(key);
    if (hit) return hit;
    const want = new Set<OnnxNode>();
    let usesInput = false;
    const stack = [target];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      if (name === given) continue;
      if (name === inputName) { usesInput = true; continue; }
      const node = producer.get(name);
      if (!node) continue; // folded or an initializer
      want.add(node);
      for (const i of node.inputs) if (i !== '') stack.push(i);
    }
    const result = { nodes: live.filter((n) => want.has(n)), usesInput };
    neededCache.set(key, result);
    return result;
  };

  const execute = (start: string, value: Value, target: string): tf.Tensor => {
    const { nodes } = needed(target, start);
    const env = new Map<string, Value>(folded);
    env.set(start, value);
    for (const node of nodes) {
      const outs = OPERATORS[node.opType]!(node.inputs.map((n) => (n === '' ? undefined : env.get(n))), contexts.get(node.name)!);
      node.outputs.forEach((n, i) => { if (n !== '' && outs[i]) env.set(n, outs[i]!); });
    }
    const v = env.get(target)!;
    if (v.kind === 'ints') throw new Error(`${graph.source}: '${target}' is a folded shape value, not an activation`);
    return v.t;
  };

  const cuts: OnnxCut[] = [];
  const byName = new Map<string, OnnxCut>();
  const inputShape = shapes.get(inputName) ?? { shape: [inputChw[1], inputChw[2], inputChw[0]], onnxShape: [...inputChw], nhwc: true, dtype: 'float32' };
  const describe = (name: string, output: string, opType: string): OnnxCut => {
    const s = output === inputName ? inputShape : shapes.get(output)!;
    // Clean: computing the output from this value alone never reaches back to the input (the
    // output depends on the input, so a value it does not depend on is never clean either).
    const clean = !needed(outputName, output).usesInput;
    const cut: OnnxCut = { name, output, opType, shape: s.shape, onnxShape: s.onnxShape, nhwc: s.nhwc, clean };
    if (!clean) cut.reason = 'a skip connection or side branch passes around it';
    return cut;
  };
  cuts.push(describe(inputName, inputName, 'Input'));
  for (const node of live) {
    const output = node.outputs[0]!;
    if (!shapes.has(output)) continue;
    cuts.push(describe(node.name, output, node.opType));
  }
  for (const c of cuts) {
    byName.set(c.name, c);
    if (!byName.has(c.output)) byName.set(c.output, c);
  }

  return {
    graph, cuts, inputChw, outputName,
    cut: (name) => byName.get(name),
    run(x: tf.Tensor, output = outputName): tf.Tensor {
      return tf.tidy(() => execute(inputName, dyn(x, true), output));
    },
    runFrom(cutName: string, z: tf.Tensor): tf.Tensor {
      const c = byName.get(cutName);
      if (!c || !c.clean) throw new Error(`${graph.source}: '${cutName}' is not a clean cut; Ψ exists only at clean cuts`);
      return tf.tidy(() => execute(c.output, dyn(z, c.nhwc), outputName));
    },
    dispose: () => { for (const t of kept) t.dispose(); kept.length = 0; },
  };
}
