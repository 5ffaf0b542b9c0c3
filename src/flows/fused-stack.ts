/**
 * The coupling stack of t and e (coupling-stack.ts) computed block by block with fused-block.ts:
 * each block's ActNorm and coupling weights live in ONE packed variable, so the gradient tape
 * and Adam see `numBlocks` variables instead of 26 per block, and on the torch and wasm backends
 * each block is one kernel call forward, one backward and one inverse (the block kernels:
 * native/torch/src/coupling.cc, src/engine/wasm-kernels/coupling.ts).
 *
 * Same model, same file: the stack is built from the unfused Sequence (same initial draws, same
 * saved names and buffers), packs its variables, and keeps the Sequence as the named view that
 * `weights` returns (copied back from the packed variables whenever they changed), so a model
 * saved from either path loads into the other. `unfused()` hands that Sequence out, in step.
 *
 * Which path a model takes: `flowFusion()` (fused by default; INNTROSPECT_FLOW_FUSION=unfused or
 * `setFlowFusion('unfused')` forces the unfused one), read when the model is built.
 */
import { tf } from '../engine/index.ts';
import { ActNorm } from './actnorm.ts';
import { DoubleAffineCoupling } from './coupling.ts';
import {
  blockLayout, genericBlockForward, hasNativeBlockKernels, nativeBlockForward, nativeBlockInverse, PermTensors, recording,
  type BlockSpec, type BlockWeights,
} from './fused-block.ts';
import { checkFlatShape, tidyFlow, type Buffer, type FlowResult, type InvertibleModule, type JsonObject } from './module.ts';
import type { Sequence } from './sequence.ts';
import { Shuffle } from './shuffle.ts';

/** 'fused' packs the blocks (fused-block.ts); 'unfused' is the plain Sequence of modules. */
export type FlowFusion = 'fused' | 'unfused';

let fusionOverride: FlowFusion | null = null;

/**
 * The path models built from now on take: `setFlowFusion`'s value, else INNTROSPECT_FLOW_FUSION
 * ('fused' or 'unfused'), else 'fused'.
 */
export function flowFusion(): FlowFusion {
  if (fusionOverride) return fusionOverride;
  const env = typeof process !== 'undefined' ? process.env?.['INNTROSPECT_FLOW_FUSION'] : undefined;
  if (env === undefined || env === '') return 'fused';
  if (env !== 'fused' && env !== 'unfused') throw new Error(`INNTROSPECT_FLOW_FUSION must be 'fused' or 'unfused', got '${env}'`);
  return env;
}

/**
 * Forces the path of models built from now on; null returns to the environment's choice.
 * Returns the previous override.
 *
 * @example
 *   const before = setFlowFusion('unfused');   // e.g. to compare with the fused path
 *   const t = new ConditionalINN({ dim: 64, conditionShape: [10] });
 *   setFlowFusion(before);
 */
export function setFlowFusion(mode: FlowFusion | null): FlowFusion | null {
  if (mode !== null && mode !== 'fused' && mode !== 'unfused') throw new Error(`setFlowFusion: mode must be 'fused', 'unfused' or null, got '${String(mode)}'`);
  const before = fusionOverride;
  fusionOverride = mode;
  return before;
}

interface Block {
  norm: ActNorm;
  coupling: DoubleAffineCoupling;
  weights: BlockWeights & { packed: tf.Variable };
  perms: PermTensors;
  /** The named variables of this block, in packing order (the Sequence's own variables). */
  named: tf.Variable[];
  /** dataId of `packed` when `named` was last brought in step (tfjs gives a variable a new one on assign). */
  syncedData: object | null;
}

export class FusedCouplingStack implements InvertibleModule {
  /** Saved as what it is built from: a saved stack loads as a Sequence (unfused) or, in t and e, either way. */
  readonly className = 'Sequence';
  readonly dim: number;
  private readonly blocks: Block[] = [];

  /**
   * Takes ownership of `sequence`, a coupling stack as coupling-stack.ts builds it
   * ([ActNorm, DoubleAffineCoupling, Shuffle] × numBlocks).
   */
  constructor(private readonly sequence: Sequence) {
    this.dim = sequence.dim;
    const modules = sequence.modules;
    if (modules.length === 0 || modules.length % 3 !== 0) throw new Error(`FusedCouplingStack: expected [ActNorm, DoubleAffineCoupling, Shuffle] blocks, got ${modules.length} modules`);
    try {
      for (let k = 0; k < modules.length; k += 3) {
        const [norm, coupling, shuffle] = [modules[k], modules[k + 1], modules[k + 2]];
        if (!(norm instanceof ActNorm && coupling instanceof DoubleAffineCoupling && shuffle instanceof Shuffle)) {
          throw new Error(`FusedCouplingStack: block ${k / 3} is [${[norm, coupling, shuffle].map((m) => m?.className).join(', ')}], not [ActNorm, DoubleAffineCoupling, Shuffle]`);
        }
        const spec: BlockSpec = { dim: this.dim, ...pickSpec(coupling) };
        const layout = blockLayout(spec);
        const couplingWeights = coupling.weights;
        const named = layout.pieces.map((p) => {
          const v = p.name === 'loc' ? norm.loc : p.name === 'scale' ? norm.scale : couplingWeights.get(p.name);
          if (!v || v.size !== p.size) throw new Error(`FusedCouplingStack: block ${k / 3} has no weight '${p.name}' of ${p.size} values`);
          return v;
        });
        const packed = tf.tidy(() => tf.variable(tf.concat(named.map((v) => tf.reshape(v, [-1]))) as tf.Tensor1D, true));
        const perm = shuffle.permutation;
        this.blocks.push({ norm, coupling, weights: { spec, packed, perm }, perms: new PermTensors(perm), named, syncedData: dataIdOf(packed) });
      }
    } catch (error) {
      this.disposeBlocks();
      throw error;
    }
  }

  get config(): JsonObject {
    return this.sequence.config;
  }

  /** Number of ActNorm → coupling → Shuffle blocks. */
  get numBlocks(): number {
    return this.blocks.length;
  }

  /** Whether the active backend has the block kernels (torch, wasm; else: stock ops on the packed weights). */
  get native(): boolean {
    return hasNativeBlockKernels();
  }

  /** ActNorm's data-dependent initialisation, as actnorm.ts does it, written into the packed vector. */
  private initialiseNorm(block: Block, x: tf.Tensor2D): void {
    if (block.norm.initialized) return;
    this.syncBlock(block);
    if (!block.norm.initializeFrom(x)) return;
    const packed = block.weights.packed;
    const dim = this.dim;
    tf.tidy(() => packed.assign(tf.concat([block.norm.loc, block.norm.scale, tf.slice(packed, [2 * dim], [packed.size - 2 * dim])]) as tf.Tensor1D));
    block.syncedData = dataIdOf(packed);
  }

  /**
   * While a gradient tape records (training): the fused blocks on the packed variables. Otherwise
   * on a backend without the block kernels (evaluation, sampling on cpu, webgl): the Sequence's
   * named variables, brought in step first, whose storage stays the same between weight changes;
   * stock ops on slices of the packed vector would make new weight tensors on every call.
   */
  private useNamedView(): boolean {
    return !this.native && !recording() && this.blocks.every((b) => b.norm.initialized);
  }

  forward(x: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    checkFlatShape(x.shape, this.dim, 'FusedCouplingStack');
    if (this.useNamedView()) return this.unfused().forward(x, condition);
    const native = this.native;
    return tidyFlow(() => {
      let h = x;
      let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      for (const block of this.blocks) {
        this.initialiseNorm(block, h);
        const [y, ld] = native
          ? nativeBlockForward(block.weights, h, condition as tf.Tensor2D | undefined)
          : genericBlockForward(block.weights, block.perms, h, condition as tf.Tensor2D | undefined);
        h = y;
        logDet = tf.add(logDet, ld);
      }
      return { output: h, logDet };
    });
  }

  /** With the block kernels one call per block; elsewhere the Sequence's inverse on the named view (see useNamedView). */
  inverse(y: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    checkFlatShape(y.shape, this.dim, 'FusedCouplingStack');
    if (!this.native) return this.unfused().inverse(y, condition);
    return tidyFlow(() => {
      let h = y;
      let logDet = tf.zeros([y.shape[0]]) as tf.Tensor1D;
      for (let k = this.blocks.length - 1; k >= 0; k--) {
        const [x, ld] = nativeBlockInverse(this.blocks[k]!.weights, h, condition as tf.Tensor2D | undefined);
        h = x;
        logDet = tf.add(logDet, ld);
      }
      return { output: h, logDet };
    });
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.sequence.outputShape(inputShape);
  }

  /** Copies a block's packed values into its named variables if they changed since the last copy. */
  private syncBlock(block: Block): void {
    const packed = block.weights.packed;
    if (dataIdOf(packed) === block.syncedData) return;
    const layout = blockLayout(block.weights.spec);
    tf.tidy(() => {
      const parts = tf.split(packed, layout.pieces.map((p) => p.size));
      block.named.forEach((v, i) => v.assign(tf.reshape(parts[i]!, v.shape)));
    });
    block.syncedData = dataIdOf(packed);
  }

  /** The unfused Sequence with the current weights (owned by this stack: do not dispose it). */
  unfused(): Sequence {
    for (const block of this.blocks) this.syncBlock(block);
    return this.sequence;
  }

  /** The blocks as modules (ActNorm, DoubleAffineCoupling, Shuffle), with the current weights. */
  get modules(): readonly InvertibleModule[] {
    return this.unfused().modules;
  }

  /**
   * The weights by their saved names (flow.<3k>.loc, flow.<3k+1>.s.0.layers.0.kernel, …): the
   * Sequence's variables, brought in step with the packed ones. They are a view for reading and
   * saving; training moves the packed variables (`trainableVariables`), so read `weights` again
   * after a step rather than keeping a variable from before it.
   */
  get weights(): Map<string, tf.Variable> {
    return this.unfused().weights;
  }

  /** The packed variables, one per block, in block order: what the optimizer updates. */
  trainableVariables(): tf.Variable[] {
    return this.blocks.map((b) => b.weights.packed);
  }

  /**
   * For each packed variable (in `trainableVariables` order), the named variables it packs, in
   * packing order: what converts per-name optimizer state (Adam is element-wise) to packed state.
   */
  packedGroups(): tf.Variable[][] {
    return this.blocks.map((b) => [...b.named]);
  }

  buffers(): Map<string, Buffer> {
    return this.sequence.buffers();
  }

  private disposeBlocks(): void {
    for (const block of this.blocks.splice(0)) {
      block.weights.packed.dispose();
      block.perms.dispose();
    }
  }

  dispose(): void {
    this.disposeBlocks();
    this.sequence.dispose();
  }
}

function pickSpec(c: DoubleAffineCoupling): Omit<BlockSpec, 'dim'> {
  return { conditionDim: c.cfg.conditionDim, hiddenWidth: c.cfg.hiddenWidth, hiddenDepth: c.cfg.hiddenDepth };
}

/** A tensor's storage identity: tfjs gives a variable new storage on every assign. */
function dataIdOf(t: tf.Tensor): object {
  return t.dataId as object;
}
