/**
 * The paper's claims, checked with measured numbers on a loaded pipeline (report.ts prints
 * them). Each claim says what was measured, the threshold, and whether it holds. Definitions
 * are exact here and in docs/analyses.md ("The report").
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { AnalysisContext } from '../analysis/context.ts';
import { encodeMean, encodeSample, findLayer, imagesTensor, sampleZbar, scoped } from '../analysis/context.ts';
import type { InvariancePerLayerResult } from '../analysis/invariances.ts';
import type { TrainingDynamicsResult } from '../analysis/training-dynamics.ts';
import { bootstrapPaired, meanStd, type Estimate } from '../analysis/stats.ts';
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
  /** When it does not hold: what in the measurement says why, from the numbers (not a guess). */
  why?: string;
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
    ...(worst < 1e-4 && errors.every((e) => e.finite) ? {} : { why: `${errors.filter((e) => !(e.roundTripError < 1e-4) || !e.finite).map((e) => e.name).join(', ')} round-trip above 1e-4 or not finite` }),
    numbers: { worst, flows: errors },
  };
}

/**
 * Sampling keeps what z encodes: the classifier's accuracy on x̄ = D(t⁻¹(v|Φ(x))) conditioned
 * on the logits layer, scored against x's label, is ≥ 0.95 × its accuracy on the real images;
 * v ~ N(0, I) at temperature 1 (no temperature: the claim is about t's own distribution), one v
 * per image, the mean over `seeds` sampling seeds, each over the same `images` test images.
 */
export function samplingKeepsClaim(ctx: AnalysisContext, layerName: string, images: number, seeds: readonly number[]): Claim {
  if (!ctx.classify) return { id: 'sampling', statement: 'sampling keeps what z encodes', measured: 'no classifier in the context', holds: null, numbers: {} };
  if (seeds.length === 0) throw new Error('samplingKeepsClaim: no seeds');
  const classify = ctx.classify;
  const layer = findLayer(ctx, layerName);
  const n = Math.min(images, ctx.data.shape[0]);
  let realCorrect = 0;
  // The ceilings t cannot pass: D(E(x)) from the posterior mean, and D(z̄) from a posterior sample (what t is trained to reproduce).
  let meanCorrect = 0;
  let posteriorCorrect = 0;
  const posteriorRng = new Random(seeds[0]! + 202);
  const sampleCorrect = seeds.map(() => 0);
  // Per image: real prediction correct (0/1) and the share of seeds whose sample is correct, for the interval.
  const perImageReal: number[] = [];
  const perImageSample: number[] = [];
  for (let start = 0; start < n; start += 64) {
    const idx = Array.from({ length: Math.min(64, n - start) }, (_, i) => start + i);
    const labels = idx.map((i) => ctx.data.labels[i]!);
    const [real, sampled, fromMean, fromPosterior] = scoped(() => {
      const x = imagesTensor(ctx.data, idx);
      const predReal = tf.argMax(classify(x), 1).dataSync();
      const predMean = Array.from(tf.argMax(classify(ctx.ae.decode(encodeMean(ctx.ae, x))), 1).dataSync());
      const predPosterior = Array.from(tf.argMax(classify(ctx.ae.decode(encodeSample(ctx.ae, x, posteriorRng))), 1).dataSync());
      const z = layer.phi(x);
      // Random(seed + start): each seed's v for an image does not depend on the batch size of other seeds.
      const predSamples = seeds.map((seed) => Array.from(tf.argMax(classify(ctx.ae.decode(sampleZbar(layer.t, z, 1, new Random(seed * 1_000_003 + start)))), 1).dataSync()));
      return [Array.from(predReal), predSamples, predMean, predPosterior] as const;
    });
    labels.forEach((label, k) => {
      if (real[k] === label) realCorrect++;
      if (fromMean[k] === label) meanCorrect++;
      if (fromPosterior[k] === label) posteriorCorrect++;
      let ok = 0;
      sampled.forEach((p, s) => {
        if (p[k] === label) {
          sampleCorrect[s]!++;
          ok++;
        }
      });
      perImageReal.push(real[k] === label ? 1 : 0);
      perImageSample.push(ok / seeds.length);
    });
  }
  const realAccuracy = realCorrect / n;
  const reconstructionAccuracy = meanCorrect / n;
  const posteriorSampleAccuracy = posteriorCorrect / n;
  const perSeed = sampleCorrect.map((c) => c / n);
  const sampleAccuracy = meanStd(perSeed);
  const ratio = sampleAccuracy.mean / realAccuracy;
  // 95 % percentile bootstrap over the test images (the seeds stay paired with their image).
  const bootRng = new Random(seeds[0]! + 101);
  const ratioEstimate = bootstrapPaired(perImageReal, perImageSample, (a, b) => {
    const r = a.reduce((x, y) => x + y, 0);
    return r === 0 ? null : b.reduce((x, y) => x + y, 0) / r;
  }, () => bootRng.uniform(), 1000);
  return {
    id: 'sampling',
    statement: `Sampling keeps what z encodes: the classifier's accuracy on samples D(t⁻¹(v|z)) conditioned on the ${layerName} layer (v ~ N(0, I), temperature 1), against the source image's label, is ≥ 0.95 × its accuracy on the real test images (mean of ${seeds.length} sampling seeds).`,
    measured: `accuracy on samples ${(100 * sampleAccuracy.mean).toFixed(1)} % ± ${(100 * sampleAccuracy.std).toFixed(1)} (std over ${seeds.length} seeds: ${perSeed.map((a) => (100 * a).toFixed(1)).join(', ')}) vs ${(100 * realAccuracy).toFixed(1)} % on the real images: ratio ${ratio.toFixed(3)}${ratioEstimate.ci ? ` [${ratioEstimate.ci[0].toFixed(3)}, ${ratioEstimate.ci[1].toFixed(3)}] (95 % bootstrap over images)` : ''} (bar 0.95); ${n} test images, one v each per seed${n < 1000 ? `; only ${n} images were available (the claim asks for ≥ 1000)` : ''}. Ceilings from the autoencoder alone: ${(100 * reconstructionAccuracy).toFixed(1)} % on D(E(x)) (posterior mean), ${(100 * posteriorSampleAccuracy).toFixed(1)} % on D(z̄), z̄ ~ q(z̄|x) (what t learns to sample)`,
    holds: ratio >= 0.95,
    ...(ratio >= 0.95 ? {} : { why: samplingShortfall(layerName, ratio, posteriorSampleAccuracy / realAccuracy) }),
    numbers: { layer: layerName, images: n, seeds: [...seeds], temperature: 1, realAccuracy, reconstructionAccuracy, posteriorSampleAccuracy, sampleAccuracyPerSeed: perSeed, sampleAccuracy: sampleAccuracy.mean, sampleAccuracyStd: sampleAccuracy.std, ratio, ratioCi: ratioEstimate.ci },
  };
}

/** Where the class information is lost: in the autoencoder (its own posterior samples already fall below the bar) or in t. */
function samplingShortfall(layerName: string, ratio: number, posteriorRatio: number): string {
  const kept = `the classifier keeps ${(100 * ratio).toFixed(1)} % of its accuracy on samples conditioned on ${layerName} (bar 95 %)`;
  if (posteriorRatio < 0.95) return `${kept}, and ${(100 * posteriorRatio).toFixed(1)} % on decoded posterior samples of the autoencoder itself: the autoencoder is the limit here, not t (a better AE, or a smaller posterior variance, is the lever)`;
  return `${kept}, against ${(100 * posteriorRatio).toFixed(1)} % on decoded posterior samples of the autoencoder: t at ${layerName} is too short or too small to reproduce p(z̄|z) (docs/pipeline.md: longer training and a bigger t are the levers)`;
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
    ...(monotone(image) ? {} : { why: `the image-space variance decreases at ${layers.filter((_, i) => i > 0 && image[i]! < image[i - 1]!).map((l) => l.layer).join(', ') || 'no single step'}${image.at(-1)! <= image[0]! ? ', and the logits do not exceed the first layer' : ''}` }),
    numbers: { layers: layers.map((l) => l.layer), imageVariance: image, zbarVariance: zbar, zbarMonotone: monotone(zbar) },
  };
}

function formatEstimate(e: Estimate): string {
  if (e.value === null) return 'n/a';
  return `${e.value.toFixed(3)}${e.ci ? ` [${e.ci[0].toFixed(2)}, ${e.ci[1].toFixed(2)}]` : ''}`;
}

/**
 * Fig. 4: the digit factor's sensitivity tracks accuracy (Pearson ≥ 0.9 over ≥ 20 checkpoints);
 * colour sensitivities end lower than they start. Spearman, the bootstrap intervals, the IIN
 * relevance cross-check and the manifold warnings are reported beside it, not folded into it.
 */
export function dynamicsClaim(result: Omit<TrainingDynamicsResult, 'shown'>, digitFactor = 'digit', minCheckpoints = 20): Claim {
  const residual = result.factorNames.at(-1);
  const colourFactors = result.factorNames.filter((f) => f !== digitFactor && f !== residual);
  const corr = result.correlations[digitFactor];
  const pearsonValue = corr?.pearson.value ?? null;
  const first = result.checkpoints[0]!;
  const last = result.checkpoints.at(-1)!;
  const colourDrops = colourFactors.map((f) => ({ factor: f, start: first.factors[f]!.sensitivity, end: last.factors[f]!.sensitivity }));
  const enough = result.checkpoints.length >= minCheckpoints;
  const holds = pearsonValue === null ? null : enough && pearsonValue >= 0.9 && colourDrops.every((c) => c.end < c.start);
  const relevance = Object.entries(result.relevanceCorrelations).map(([f, c]) => `${f} ${formatEstimate(c.pearson)}`);
  const offManifold = result.warnings.length;
  return {
    id: 'dynamics',
    statement: `Training dynamics (Fig. 4): across ≥ ${minCheckpoints} checkpoints of the classifier, the sensitivity of its last conv layer to the digit factor correlates with its accuracy (Pearson ≥ 0.9), and its sensitivity to the colour factor(s) is lower at the end of training than at the start.`,
    measured: [
      `Pearson(digit sensitivity, accuracy) = ${corr ? formatEstimate(corr.pearson) : 'n/a'}, Spearman ${corr ? formatEstimate(corr.spearman) : 'n/a'} (95 % bootstrap intervals) over ${result.checkpoints.length} checkpoints${enough ? '' : ` (fewer than ${minCheckpoints})`}`,
      colourDrops.map((c) => `${c.factor} sensitivity ${c.start.toFixed(3)} → ${c.end.toFixed(3)}`).join(', '),
      relevance.length > 0 ? `cross-check, Pearson(IIN relevance score of Φ(x), accuracy): ${relevance.join(', ')}` : 'no IIN relevance cross-check (no pairs)',
      offManifold > 0 ? `${offManifold} (checkpoint, factor) pairs off the data manifold (Var(samples)/Var(data) outside [0.8, 1.25]): their sensitivities describe samples e has not seen; train t longer` : 'every checkpoint\'s samples on the data manifold',
    ].join('; '),
    holds,
    ...(holds === false ? { why: [
      enough ? '' : `only ${result.checkpoints.length} checkpoints (the claim needs ≥ ${minCheckpoints}; the paper's setup: inntrospect reproduce fig4)`,
      pearsonValue !== null && pearsonValue < 0.9 ? `the digit sensitivity does not follow accuracy (Pearson ${pearsonValue.toFixed(2)}${corr?.pearson.ci ? `, interval [${corr.pearson.ci[0].toFixed(2)}, ${corr.pearson.ci[1].toFixed(2)}]` : ''})` : '',
      colourDrops.filter((c) => c.end >= c.start).map((c) => `${c.factor} does not fall (${c.start.toFixed(3)} → ${c.end.toFixed(3)})`).join(', '),
      offManifold > 0 ? `${offManifold} (checkpoint, factor) pairs have t's samples off the data manifold, so their sensitivities are not trustworthy: the t's are too short` : '',
    ].filter(Boolean).join('; ') } : {}),
    numbers: { correlation: pearsonValue, correlations: result.correlations, relevanceCorrelations: result.relevanceCorrelations, checkpoints: result.checkpoints.length, colour: colourDrops, offManifold },
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
    ...(rows.length > 0 && !rows.every((r) => r.ours.mean < r.dnb!) ? { why: `D&B is closer to the real images at ${rows.filter((r) => r.ours.mean >= r.dnb!).map((r) => r.layer).join(', ')}` } : {}),
    numbers: { rows: result.rows, reconstruction: result.reconstruction, features: result.features },
  };
}

