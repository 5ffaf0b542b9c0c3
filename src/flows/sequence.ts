/**
 * Sequence: invertible blocks applied one after the other (the reference's ConditionalFlow and
 * EfficientVRNVP, digest §3.1–3.2 and §4.1). forward runs the blocks in order and sums their
 * log-dets; inverse runs them backwards. The same condition (t's embedding, computed once) is
 * passed to every block, as the reference's conditioning_option "none" does.
 *
 * Shapes are checked when a block is appended: the error names the block and both shapes.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { resolveConfig, requireInteger, toJson, type DeepPartial } from './config.ts';
import { formatShape, mergePrefixed, ShapeError, checkFlatShape, tidyFlow, type Buffer, type FlowResult, type InvertibleModule, type Json, type JsonObject } from './module.ts';
import { buildFlowComponent, registerFlowClass } from './registry.ts';
import { WeightSource } from './weight-source.ts';

export interface SequenceConfig {
  /** Input size D of the first block. Required. */
  dim: number;
  /**
   * The blocks as {className, config}; filled by `append`. Given when a saved Sequence is
   * rebuilt (the registry builds each child).
   */
  modules: { className: string; config: JsonObject }[];
}

export const DEFAULT_SEQUENCE_CONFIG: SequenceConfig = { dim: 0, modules: [] };

export class Sequence implements InvertibleModule {
  readonly className = 'Sequence';
  readonly dim: number;
  private readonly blocks: InvertibleModule[] = [];
  private currentShape: number[];

  /**
   * @example
   *   const flow = new Sequence({ dim: 6 });
   *   flow.append(new ActNorm({ dim: 6 })).append(new Shuffle({ dim: 6 }, WeightSource.fresh(new Random(1))));
   */
  constructor(config: Pick<SequenceConfig, 'dim'> & DeepPartial<SequenceConfig>, source: WeightSource = WeightSource.fresh(new Random(0))) {
    const cfg = resolveConfig(DEFAULT_SEQUENCE_CONFIG, config, 'Sequence');
    requireInteger(cfg.dim, 1, 'dim', 'Sequence');
    this.dim = cfg.dim;
    this.currentShape = [-1, cfg.dim];
    cfg.modules.forEach((spec, i) => {
      const child = buildFlowComponent(spec.className, spec.config, source.child(i));
      if (!isInvertible(child)) throw new Error(`Sequence: block ${i} ('${spec.className}') is not an invertible module`);
      this.append(child);
    });
  }

  /**
   * Adds a block at the end, after checking that it accepts what the blocks before output.
   * Returns this, for chaining.
   */
  append(block: InvertibleModule): this {
    const index = this.blocks.length;
    try {
      this.currentShape = block.outputShape(this.currentShape);
    } catch (error) {
      if (error instanceof ShapeError) {
        throw new ShapeError(
          `Sequence: cannot append block ${index} (${block.className}): it expects input ${formatShape(error.expected)}, ` +
          `but ${index === 0 ? 'the sequence input is' : `block ${index - 1} (${this.blocks[index - 1]!.className}) outputs`} ${formatShape(this.currentShape)}`,
          error.expected,
          this.currentShape,
        );
      }
      throw error;
    }
    this.blocks.push(block);
    return this;
  }

  /** The blocks, in order. */
  get modules(): readonly InvertibleModule[] {
    return this.blocks;
  }

  get length(): number {
    return this.blocks.length;
  }

  get config(): JsonObject {
    return toJson({
      dim: this.dim,
      modules: this.blocks.map((b) => ({ className: b.className, config: b.config as Json })),
    });
  }

  forward(x: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    checkFlatShape(x.shape, this.dim, 'Sequence');
    return tidyFlow(() => {
      let h = x;
      let logDet = tf.zeros([x.shape[0]]) as tf.Tensor1D;
      for (const block of this.blocks) {
        const r = block.forward(h, condition);
        h = r.output;
        logDet = tf.add(logDet, r.logDet);
      }
      return { output: h, logDet };
    });
  }

  inverse(y: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    checkFlatShape(y.shape, this.dim, 'Sequence');
    return tidyFlow(() => {
      let h = y;
      let logDet = tf.zeros([y.shape[0]]) as tf.Tensor1D;
      for (let i = this.blocks.length - 1; i >= 0; i--) {
        const r = this.blocks[i]!.inverse(h, condition);
        h = r.output;
        logDet = tf.add(logDet, r.logDet);
      }
      return { output: h, logDet };
    });
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkFlatShape(inputShape, this.dim, 'Sequence');
    return this.blocks.reduce<number[]>((shape, b) => b.outputShape(shape), [...inputShape]);
  }

  get weights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.blocks.forEach((b, i) => mergePrefixed(out, String(i), b.weights));
    return out;
  }

  buffers(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    this.blocks.forEach((b, i) => mergePrefixed(out, String(i), b.buffers()));
    return out;
  }

  dispose(): void {
    for (const b of this.blocks) b.dispose();
  }
}

function isInvertible(c: unknown): c is InvertibleModule {
  const m = c as Partial<InvertibleModule>;
  return typeof m.forward === 'function' && typeof m.inverse === 'function' && typeof m.outputShape === 'function';
}

registerFlowClass('Sequence', (config, source) => new Sequence(config as unknown as SequenceConfig, source));
