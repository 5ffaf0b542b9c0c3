/**
 * Analysis 4, curves beside the sensitivity (paper Fig. 4; the explorer's "Training dynamics"
 * mode): for every classifier snapshot, its accuracy on the analysed images and how much it
 * reacts to each semantic factor swap of Eq. 7 — the share of images whose prediction changes
 * and the mean ‖f(D(E(x))) − f(x̄*)‖ — on the same swapped images x̄* = D(e⁻¹(ê*)) for every
 * snapshot, so the curves differ only by the snapshot. Without e: accuracy only.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { type AnalysisContext, encodeMean, imagesTensor, scoped } from './context.ts';
import { defaultPartner } from './semantic-modification.ts';

export interface SnapshotCurvesOptions {
  /** Images (the first N of `ctx.data`) swapped and measured. Default 64. */
  images?: number;
  /** Seed of the partners. Default 1 (the explorer's). */
  seed?: number;
}

export interface SnapshotCurves {
  /** Per snapshot: accuracy on all of `ctx.data`'s labelled images. */
  accuracy: number[];
  /** Per factor, per snapshot: share of the images whose prediction the swap changes (against the reconstruction). */
  changeRate: Record<string, number[]>;
  /** Per factor, per snapshot: mean ‖f(D(E(x))) − f(x̄*)‖ on the logits. */
  distance: Record<string, number[]>;
  /** Images swapped and measured. */
  images: number;
}

/**
 * @example
 *   const c = snapshotCurves(ctx, snapshots.map((s) => ({ classify: (x) => s.logits(x) })), { images: 64 });
 *   c.changeRate['digit'];    // rises as the classifier learns the digit
 */
export function snapshotCurves(ctx: Pick<AnalysisContext, 'ae' | 'e' | 'data'>, snapshots: ReadonlyArray<{ classify: (x: tf.Tensor) => tf.Tensor2D }>, options: SnapshotCurvesOptions = {}): SnapshotCurves {
  const { images = 64, seed = 1 } = options;
  const { ae, e, data } = ctx;
  const n = data.shape[0];
  const indices = Array.from({ length: Math.min(images, n) }, (_, i) => i);
  return scoped(() => {
    const chooser = defaultPartner({ data });
    const rng = new Random(seed);
    // One swapped batch per factor (not the residual), shared by every snapshot.
    const swaps = e ? e.factorNames.slice(0, -1).map((factor) => {
      const partners = indices.map((i) => chooser(i, factor, rng));
      const f = e.encode(encodeMean(ae, imagesTensor(data, indices)));
      const g = e.encode(encodeMean(ae, imagesTensor(data, partners)));
      return { factor, images: ae.decode(e.decode({ ...f, [factor]: g[factor]! })) };
    }) : [];
    const rec = ae.decode(encodeMean(ae, imagesTensor(data, indices)));
    const all = imagesTensor(data, Array.from({ length: n }, (_, i) => i));
    const changeRate: Record<string, number[]> = Object.fromEntries(swaps.map((s) => [s.factor, []]));
    const distance: Record<string, number[]> = Object.fromEntries(swaps.map((s) => [s.factor, []]));
    const accuracy: number[] = [];
    const argmax = (t: tf.Tensor2D) => Array.from(tf.argMax(t, 1).dataSync());
    for (const snap of snapshots) {
      const predicted = argmax(snap.classify(all));
      accuracy.push(predicted.filter((p, i) => p === data.labels[i]).length / n);
      const fRec = snap.classify(rec);
      const pRec = argmax(fRec);
      for (const sw of swaps) {
        const fMod = snap.classify(sw.images);
        const pMod = argmax(fMod);
        changeRate[sw.factor]!.push(pMod.filter((p, i) => p !== pRec[i]).length / indices.length);
        const d = Array.from(tf.norm(tf.sub(fRec, fMod), 'euclidean', 1).dataSync());
        distance[sw.factor]!.push(d.reduce((a, b) => a + b, 0) / d.length);
      }
    }
    return { accuracy, changeRate, distance, images: indices.length };
  });
}
