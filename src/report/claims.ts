/**
 * The paper's claims, checked with measured numbers on a loaded pipeline (report.ts prints
 * them). Each claim says what was measured, the threshold, and whether it holds. Definitions
 * are exact here and in docs/analyses.md ("The report").
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { AnalysisContext } from '../analysis/context.ts';
import { findLayer, imagesTensor, sampleZbar, scoped } from '../analysis/context.ts';
import type { InvariancePerLayerResult } from '../analysis/invariances.ts';
import type { TrainingDynamicsResult } from '../analysis/training-dynamics.ts';
import type { Table1Result } from '../analysis/table1.ts';
import { checkInvertibility } from '../flows/invertibility-check.ts';
import type { InvertibleModule } from '../flows/module.ts';

export interface Claim {
  id: string;
  /** The claim, in words. */
  statement: string;
  /** What was measured, with the numbers. */
  measured: string;
  /** null when it could not be measured (say why in `measured`). */
  holds: boolean | null;
  numbers: Record<string, unknown>;
}

/** t (every layer) and e are invertible: max relative round-trip error < 1e-4. */
export function invertibilityClaim(flows: Array<{ name: string; flow: InvertibleModule & { dim: number }; conditionShape?: number[] }>): Claim {
  const errors = flows.map(({ name, flow, conditionShape }) => ({ name, ...checkInvertibility(flow, { dim: flow.dim, conditionShape, samples: 8 }) }));
  const worst = Math.max(...errors.map((e) => e.roundTripError));
  return {
    id: 'invertible',
    statement: 't is invertible: the maximum relative round-trip error max|z̄ − t⁻¹(t(z̄|z)|z)| / max|z̄| is below 1e-4 (for every t, and for e).',
    measured: `worst round-trip error ${worst.toExponential(2)} over ${errors.length} flows (${errors.map((e) => `${e.name} ${e.roundTripError.toExponential(1)}`).join(', ')})`,
    holds: worst < 1e-4 && errors.every((e) => e.finite),
    numbers: { worst, flows: errors },
  };
}

/**
 * Sampling keeps what z encodes: the classifier's accuracy on x̄ = D(t⁻¹(v|Φ(x))) conditioned
 * on the logits layer, scored against x's label, is ≥ 0.95 × its accuracy on the real images.
 */
export function samplingKeepsClaim(ctx: AnalysisContext, layerName: string, images: number, seed: number): Claim {
  if (!ctx.classify) return { id: 'sampling', statement: 'sampling keeps what z encodes', measured: 'no classifier in the context', holds: null, numbers: {} };
  const classify = ctx.classify;
  const layer = findLayer(ctx, layerName);
  const n = Math.min(images, ctx.data.shape[0]);
  const rng = new Random(seed);
  let realCorrect = 0;
  let sampleCorrect = 0;
  for (let start = 0; start < n; start += 64) {
    const idx = Array.from({ length: Math.min(64, n - start) }, (_, i) => start + i);
    const labels = idx.map((i) => ctx.data.labels[i]!);
    const [real, sampled] = scoped(() => {
      const x = imagesTensor(ctx.data, idx);
      const predReal = tf.argMax(classify(x), 1).dataSync();
      const zbar = sampleZbar(layer.t, layer.phi(x), 1, rng);
      const predSample = tf.argMax(classify(ctx.ae.decode(zbar)), 1).dataSync();
      return [Array.from(predReal), Array.from(predSample)];
    });
    labels.forEach((label, k) => {
      if (real[k] === label) realCorrect++;
      if (sampled[k] === label) sampleCorrect++;
    });
  }
  const realAccuracy = realCorrect / n;
  const sampleAccuracy = sampleCorrect / n;
  return {
    id: 'sampling',
    statement: `Sampling keeps what z encodes: the classifier's accuracy on samples D(t⁻¹(v|z)) conditioned on the ${layerName} layer, against the source image's label, is ≥ 0.95 × its accuracy on the real test images.`,
    measured: `accuracy on samples ${(100 * sampleAccuracy).toFixed(1)} % vs ${(100 * realAccuracy).toFixed(1)} % on the real images (ratio ${(sampleAccuracy / realAccuracy).toFixed(3)}), ${n} test images, one v each`,
    holds: sampleAccuracy >= 0.95 * realAccuracy,
    numbers: { layer: layerName, images: n, realAccuracy, sampleAccuracy, ratio: sampleAccuracy / realAccuracy },
  };
}

/** Invariance grows with depth: the per-layer variance over samples never decreases from the layer nearest the input to the logits, and the last exceeds the first. */
export function invarianceDepthClaim(result: InvariancePerLayerResult): Claim {
  const layers = result.layers;
  const image = layers.map((l) => l.imageVariance);
  const zbar = layers.map((l) => l.zbarVariance);
  const monotone = (v: number[]) => v.every((x, i) => i === 0 || x >= v[i - 1]!) && v.at(-1)! > v[0]!;
  return {
    id: 'invariance-depth',
    statement: 'Invariance grows with depth: the variance of D(t⁻¹(v|z)) over samples v (image space, averaged over inputs) does not decrease from the layer nearest the input to the logits, and is larger at the logits than at the first layer.',
    measured: `image-space variance per layer: ${layers.map((l) => `${l.layer} ${l.imageVariance.toFixed(4)}`).join(' → ')}; in z̄ space: ${layers.map((l) => `${l.layer} ${l.zbarVariance.toFixed(3)}`).join(' → ')}`,
    holds: monotone(image),
    numbers: { layers: layers.map((l) => l.layer), imageVariance: image, zbarVariance: zbar, zbarMonotone: monotone(zbar) },
  };
}

/** Fig. 4: the digit factor's sensitivity tracks accuracy (Pearson ≥ 0.9); colour sensitivity ends lower than it starts. */
export function dynamicsClaim(result: TrainingDynamicsResult, digitFactor = 'digit'): Claim {
  const colourFactors = result.factorNames.filter((f) => f !== digitFactor && f !== 'residual');
  const corr = result.correlationWithAccuracy[digitFactor] ?? null;
  const first = result.checkpoints[0]!;
  const last = result.checkpoints.at(-1)!;
  const colourDrops = colourFactors.map((f) => ({ factor: f, start: first.factors[f]!.sensitivity, end: last.factors[f]!.sensitivity }));
  const holds = corr === null ? null : corr >= 0.9 && colourDrops.every((c) => c.end < c.start);
  return {
    id: 'dynamics',
    statement: 'Training dynamics (Fig. 4): across the classifier\'s checkpoints, the sensitivity of its last conv layer to the digit factor correlates with its accuracy (Pearson ≥ 0.9), and its sensitivity to the colour factor(s) is lower at the end of training than at the start.',
    measured: `Pearson(digit sensitivity, accuracy) = ${corr === null ? 'n/a' : corr.toFixed(3)} over ${result.checkpoints.length} checkpoints; ${colourDrops.map((c) => `${c.factor} sensitivity ${c.start.toFixed(3)} → ${c.end.toFixed(3)}`).join(', ')}`,
    holds,
    numbers: { correlation: corr, colour: colourDrops },
  };
}

/** Table 1: our Fréchet distance is below D&B's at every layer. */
export function table1Claim(result: Table1Result): Claim {
  const rows = result.rows.filter((r) => r.dnb !== null);
  return {
    id: 'table1',
    statement: `Table 1: the Fréchet distance (features: ${result.features}) between our samples D(t⁻¹(v|Φ(x))) and real images is below that of D&B (a decoder trained to map z straight to x) at every layer.`,
    measured: rows.map((r) => `${r.layer}: ours ${r.ours.mean.toFixed(2)} ± ${r.ours.std.toFixed(2)} vs D&B ${r.dnb!.toFixed(2)}${r.mv !== null ? `, M&V ${r.mv.toFixed(2)}` : ''}`).join('; ') + `; AE reconstructions (floor) ${result.reconstruction.toFixed(2)}`,
    holds: rows.length > 0 ? rows.every((r) => r.ours.mean < r.dnb!) : null,
    numbers: { rows: result.rows, reconstruction: result.reconstruction, features: result.features },
  };
}

