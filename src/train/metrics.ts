/**
 * Evaluation numbers: classifier accuracy and autoencoder reconstruction PSNR (on the [0, 1]
 * pixel scale, i.e. images mapped from [−1, 1] by (x + 1)/2).
 */
import { tf } from '../engine/index.ts';
import type { Autoencoder } from '../models/autoencoder.ts';
import { sequentialBatches, type LabeledImages } from './batches.ts';

/** Fraction of the first `limit` images whose argmax logit equals the label. */
export function accuracy(model: { logits(x: tf.Tensor): tf.Tensor2D }, data: LabeledImages, limit = data.shape[0], batchSize = 250): number {
  let correct = 0;
  let total = 0;
  for (const { x, labels } of sequentialBatches(data, batchSize, limit)) {
    correct += tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(model.logits(x), 1), labels), 'int32')).dataSync()[0]!);
    total += x.shape[0];
    tf.dispose([x, labels]);
  }
  return correct / total;
}

export interface PsnrResult {
  /** Mean over images of 10·log10(1 / MSE_image), [0, 1] scale. */
  meanPsnr: number;
  /** 10·log10(1 / MSE over all pixels of all images). */
  datasetPsnr: number;
  /** Mean absolute error on the [−1, 1] scale. */
  l1: number;
  images: number;
}

/** PSNR of D(mean of q(z̄|x)) against x over the first `limit` images. */
export function reconstructionPsnr(ae: Autoencoder, data: LabeledImages, limit = data.shape[0], batchSize = 200): PsnrResult {
  let sumPsnr = 0;
  let sumMse = 0;
  let sumL1 = 0;
  let n = 0;
  for (const { x, labels } of sequentialBatches(data, batchSize, limit)) {
    const [mse, l1] = tf.tidy(() => {
      const rec = ae.reconstruct(x);
      const diff = tf.mul(0.5, tf.sub(rec, x)); // [0, 1] scale
      return [tf.mean(tf.square(diff), [1, 2, 3]), tf.mean(tf.abs(tf.sub(rec, x)), [1, 2, 3])];
    });
    const mses = mse!.dataSync();
    const l1s = l1!.dataSync();
    for (let i = 0; i < mses.length; i++) {
      sumPsnr += 10 * Math.log10(1 / Math.max(mses[i]!, 1e-12));
      sumMse += mses[i]!;
      sumL1 += l1s[i]!;
    }
    n += mses.length;
    tf.dispose([x, labels, mse!, l1!]);
  }
  return { meanPsnr: sumPsnr / n, datasetPsnr: 10 * Math.log10(n / sumMse), l1: sumL1 / n, images: n };
}
