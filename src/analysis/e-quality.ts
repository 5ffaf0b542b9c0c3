/**
 * How good the semantic INN e is, judged by what its factors separate (IIN, Esser et al. 2020;
 * docs/analyses.md §10), not by how close the pair correlation comes to ρ: per factor ẑ_F of
 * e(E(x)), a probe of every known attribute of the images (class accuracy of a nearest-centroid
 * probe for a class attribute, R² of a linear probe for a continuous one, fitted on one half of
 * the images and scored on the other), so a factor should hold its own attribute and not the
 * others'; and per factor the mean pair correlation beside its information bound: pairs that
 * share a K-class attribute and nothing else share at most ln K nats, which for |F| jointly
 * Gaussian dimensions with equal correlation r means −(|F|/2)·ln(1 − r²) ≤ ln K, i.e.
 * r ≤ √(1 − K^(−2/|F|)).
 */
import { tf } from '../engine/index.ts';
import type { ImageDataset } from '../data/dataset.ts';
import type { PairBatch } from '../data/pairs.ts';
import { solve } from '../flows/linalg.ts';
import { type AutoencoderLike, type SemanticFlowLike, encodeMean, imagesTensor, scoped } from './context.ts';

/** A known attribute of the images: a class label or a continuous vector (e.g. an RGB colour). */
export interface ImageAttribute {
  name: string;
  kind: 'class' | 'continuous';
  /** class: one label per image (−1 = unknown); continuous: `width` values per image. */
  values: ArrayLike<number>;
  width: number;
  /** class: the number of classes K. */
  classes?: number;
}

export interface FactorProbe {
  factor: string;
  attribute: string;
  kind: 'class' | 'continuous';
  /** class: held-out nearest-centroid accuracy; continuous: held-out R² of a linear probe. */
  score: number;
  /** class: 1/K; continuous: 0. */
  chance: number;
  /** Whether the factor should hold this attribute (its name is the attribute's). */
  expected: boolean;
}

export interface PairCorrelation {
  factor: string;
  /** Mean over F's dimensions of the correlation between the pair members that share F. */
  correlation: number;
  /** √(1 − K^(−2/|F|)) for a K-class attribute; null for a continuous one (no finite bound). */
  bound: number | null;
  dims: number;
  pairs: number;
}

export interface EQualityResult {
  images: number;
  attributes: Array<{ name: string; kind: 'class' | 'continuous'; classes?: number }>;
  probes: FactorProbe[];
  pairCorrelations: PairCorrelation[];
}

/**
 * The attributes a dataset knows: ColorMNIST's digit and colour(s), or the label of any labelled
 * dataset (named 'label', as its pair sampler's factor).
 */
export function datasetAttributes(data: ImageDataset): ImageAttribute[] {
  const labelled = Array.from(data.labels).some((l) => l >= 0);
  const c = data as ImageDataset & { colors?: Float32Array | null; foreground?: Float32Array | null; background?: Float32Array | null };
  const isColorMnist = 'colors' in c || 'foreground' in c;
  const out: ImageAttribute[] = [];
  if (labelled) out.push({ name: isColorMnist ? 'digit' : 'label', kind: 'class', values: data.labels, width: 1, classes: data.classNames.length });
  if (c.colors) out.push({ name: 'color', kind: 'continuous', values: c.colors, width: 3 });
  if (c.foreground) out.push({ name: 'foreground', kind: 'continuous', values: c.foreground, width: 3 });
  if (c.background) out.push({ name: 'background', kind: 'continuous', values: c.background, width: 3 });
  return out;
}

/** √(1 − K^(−2/dims)): the largest equal per-dimension correlation of dims Gaussian dimensions sharing ln K nats. */
export function correlationBound(classes: number, dims: number): number {
  return Math.sqrt(1 - classes ** (-2 / dims));
}

/** Held-out nearest-centroid accuracy of labels y from rows x (train: even rows, test: odd rows). */
export function nearestCentroidAccuracy(x: ArrayLike<number>, n: number, dim: number, y: ArrayLike<number>, classes: number): number {
  const sums = new Float64Array(classes * dim);
  const counts = new Float64Array(classes);
  for (let i = 0; i < n; i += 2) {
    const k = y[i]!;
    if (k < 0) continue;
    counts[k]! += 1;
    for (let d = 0; d < dim; d++) sums[k * dim + d]! += x[i * dim + d]!;
  }
  let correct = 0;
  let tested = 0;
  for (let i = 1; i < n; i += 2) {
    if (y[i]! < 0) continue;
    let best = -1;
    let bestDist = Infinity;
    for (let k = 0; k < classes; k++) {
      if (counts[k] === 0) continue;
      let dist = 0;
      for (let d = 0; d < dim; d++) dist += (x[i * dim + d]! - sums[k * dim + d]! / counts[k]!) ** 2;
      if (dist < bestDist) [best, bestDist] = [k, dist];
    }
    tested++;
    if (best === y[i]) correct++;
  }
  return tested === 0 ? NaN : correct / tested;
}

/**
 * Held-out R² of a ridge-regularised linear probe y ≈ [x, 1]·β (train: even rows, test: odd
 * rows): 1 − Σ residual² / Σ (y − mean_train y)² over the test rows and every output. Can be
 * below 0 for a probe worse than the mean.
 */
export function linearProbeR2(x: ArrayLike<number>, n: number, dim: number, y: ArrayLike<number>, width: number, ridge = 1e-6): number {
  const p = dim + 1;
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p * width);
  const row = new Float64Array(p);
  const yMean = new Float64Array(width);
  let trainRows = 0;
  for (let i = 0; i < n; i += 2) {
    for (let d = 0; d < dim; d++) row[d] = x[i * dim + d]!;
    row[dim] = 1;
    for (let a = 0; a < p; a++) {
      for (let b = 0; b < p; b++) xtx[a * p + b]! += row[a]! * row[b]!;
      for (let w = 0; w < width; w++) xty[a * width + w]! += row[a]! * y[i * width + w]!;
    }
    for (let w = 0; w < width; w++) yMean[w]! += y[i * width + w]!;
    trainRows++;
  }
  for (let w = 0; w < width; w++) yMean[w]! /= trainRows;
  let trace = 0;
  for (let d = 0; d < dim; d++) trace += xtx[d * p + d]!;
  for (let d = 0; d < dim; d++) xtx[d * p + d]! += ridge * (trace / dim);
  const beta = Array.from({ length: width }, (_, w) => solve(xtx, Array.from({ length: p }, (_, a) => xty[a * width + w]!), p));
  let sse = 0;
  let sst = 0;
  for (let i = 1; i < n; i += 2) {
    for (let w = 0; w < width; w++) {
      let pred = beta[w]![dim]!;
      for (let d = 0; d < dim; d++) pred += beta[w]![d]! * x[i * dim + d]!;
      sse += (y[i * width + w]! - pred) ** 2;
      sst += (y[i * width + w]! - yMean[w]!) ** 2;
    }
  }
  return sst === 0 ? NaN : 1 - sse / sst;
}

/** ẑ_F = e(E(x))_F for every factor, as plain rows. */
function encodeFactors(ae: AutoencoderLike, e: SemanticFlowLike, images: () => Iterable<tf.Tensor4D>): Record<string, Float32Array[]> {
  const parts: Record<string, Float32Array[]> = Object.fromEntries(e.factorNames.map((f) => [f, []]));
  for (const x of images()) {
    scoped(() => {
      const f = e.encode(encodeMean(ae, x));
      for (const name of e.factorNames) parts[name]!.push(Float32Array.from(f[name]!.dataSync()));
    });
    x.dispose();
  }
  return parts;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * @param pairs pairs of images sharing one of e's factors (factor indices into e.factorNames), for
 *   the pair correlations; omit to skip them.
 *
 * @example
 *   const q = eQuality(ae, e, testData, datasetAttributes(testData), pairBatch);
 *   q.probes.filter((p) => p.expected);   // each factor on its own attribute
 */
export function eQuality(ae: AutoencoderLike, e: SemanticFlowLike, data: ImageDataset, attributes: readonly ImageAttribute[], pairs?: Pick<PairBatch, 'a' | 'b' | 'factors' | 'shape'>, batchSize = 64): EQualityResult {
  const n = data.shape[0];
  if (n < 4) throw new Error(`e quality: need at least 4 images, got ${n}`);
  const factors = encodeFactors(ae, e, function* () {
    for (let off = 0; off < n; off += batchSize) yield imagesTensor(data, Array.from({ length: Math.min(batchSize, n - off) }, (_, i) => off + i));
  });
  const probes: FactorProbe[] = [];
  e.factorNames.forEach((name, k) => {
    const dim = e.factorSizes[k]!;
    const x = concat(factors[name]!);
    for (const a of attributes) {
      const score = a.kind === 'class' ? nearestCentroidAccuracy(x, n, dim, a.values, a.classes!) : linearProbeR2(x, n, dim, a.values, a.width);
      probes.push({ factor: name, attribute: a.name, kind: a.kind, score, chance: a.kind === 'class' ? 1 / a.classes! : 0, expected: a.name === name });
    }
  });
  const pairCorrelations: PairCorrelation[] = [];
  if (pairs) {
    const side = (images: Float32Array) => encodeFactors(ae, e, function* () {
      const per = pairs.shape[1] * pairs.shape[2] * pairs.shape[3];
      const B = pairs.shape[0];
      for (let off = 0; off < B; off += batchSize) {
        const m = Math.min(batchSize, B - off);
        yield tf.tensor4d(images.subarray(off * per, (off + m) * per), [m, pairs.shape[1], pairs.shape[2], pairs.shape[3]]);
      }
    });
    const fa = side(pairs.a.images);
    const fb = side(pairs.b.images);
    e.factorNames.slice(0, -1).forEach((name, k) => {
      const dim = e.factorSizes[k]!;
      const rows = Array.from(pairs.factors).map((f, i) => (f === k ? i : -1)).filter((i) => i >= 0);
      if (rows.length < 3) return;
      const a = concat(fa[name]!);
      const b = concat(fb[name]!);
      let sum = 0;
      for (let d = 0; d < dim; d++) {
        const va = rows.map((i) => a[i * dim + d]!);
        const vb = rows.map((i) => b[i * dim + d]!);
        const ma = va.reduce((s, v) => s + v, 0) / rows.length;
        const mb = vb.reduce((s, v) => s + v, 0) / rows.length;
        let ab = 0;
        let aa = 0;
        let bb = 0;
        for (let r = 0; r < rows.length; r++) {
          ab += (va[r]! - ma) * (vb[r]! - mb);
          aa += (va[r]! - ma) ** 2;
          bb += (vb[r]! - mb) ** 2;
        }
        sum += aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
      }
      const attr = attributes.find((x) => x.name === name);
      pairCorrelations.push({ factor: name, correlation: sum / dim, bound: attr?.kind === 'class' ? correlationBound(attr.classes!, dim) : null, dims: dim, pairs: rows.length });
    });
  }
  return { images: n, attributes: attributes.map((a) => ({ name: a.name, kind: a.kind, ...(a.classes ? { classes: a.classes } : {}) })), probes, pairCorrelations };
}

/** A plain-text table of the result, for `inntrospect check` and the report. */
export function formatEQuality(q: EQualityResult): string[] {
  const lines = [`e quality on ${q.images} images (probe fitted on half, scored on the other half; class: nearest-centroid accuracy, continuous: linear R²):`];
  const factors = [...new Set(q.probes.map((p) => p.factor))];
  for (const f of factors) {
    const cells = q.probes.filter((p) => p.factor === f).map((p) => `${p.attribute}${p.expected ? '*' : ''} ${p.score.toFixed(3)}${p.kind === 'class' ? ` (chance ${p.chance.toFixed(2)})` : ''}`);
    lines.push(`  ${f.padEnd(12)} ${cells.join('   ')}`);
  }
  lines.push('  (* the attribute the factor should hold; every other should be near chance)');
  for (const c of q.pairCorrelations) {
    lines.push(`  pair correlation ${c.factor.padEnd(12)} ${c.correlation.toFixed(3)} over ${c.pairs} pairs, ${c.dims} dims; ${c.bound === null ? 'no finite bound (continuous attribute)' : `information bound ${c.bound.toFixed(3)} (a pair sharing a ${c.factor} class shares ≤ ln K nats)`}`);
  }
  return lines;
}
