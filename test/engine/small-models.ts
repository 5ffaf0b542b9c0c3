// Two tiny models that exercise every training kernel path of the engine: a conv autoencoder
// (conv, conv-transpose, dense) and a conditional affine-coupling flow (dense, tanh/exp,
// slicing, concat, permutation gather). Test fixtures only; the real models live in src/.
import { tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';

export interface SmallModel {
  variables: tf.Variable[];
  loss: (batch: tf.Tensor[]) => tf.Scalar;
}

let nextId = 0;
function weight(rng: Random, shape: number[], fanIn: number, name: string): tf.Variable {
  return tf.variable(rng.normalTensor(shape, 0, 1 / Math.sqrt(fanIn)), true, `${name}_${nextId++}`);
}

/** 16×16×3 → conv s2 (8) → conv s2 (16) → dense 8 → mirrored decoder, MSE. */
export function smallConvAutoencoder(seed: number): SmallModel {
  const rng = new Random(seed);
  const w1 = weight(rng, [3, 3, 3, 8], 27, 'enc1');
  const w2 = weight(rng, [3, 3, 8, 16], 72, 'enc2');
  const wd = weight(rng, [4 * 4 * 16, 8], 256, 'enc_dense');
  const wu = weight(rng, [8, 4 * 4 * 16], 8, 'dec_dense');
  const w3 = weight(rng, [3, 3, 8, 16], 144, 'dec1');
  const w4 = weight(rng, [3, 3, 3, 8], 72, 'dec2');
  const loss = ([x]: tf.Tensor[]) => tf.tidy(() => {
    const b = x!.shape[0]!;
    let h = tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 2, 'same'));
    h = tf.relu(tf.conv2d(h, w2 as tf.Tensor4D, 2, 'same'));
    const code = tf.matMul(tf.reshape(h, [b, 256]), wd);
    let d = tf.reshape(tf.relu(tf.matMul(code, wu)), [b, 4, 4, 16]) as tf.Tensor4D;
    d = tf.relu(tf.conv2dTranspose(d, w3 as tf.Tensor4D, [b, 8, 8, 8], 2, 'same'));
    const out = tf.sigmoid(tf.conv2dTranspose(d, w4 as tf.Tensor4D, [b, 16, 16, 3], 2, 'same'));
    return tf.mean(tf.squaredDifference(out, x!)) as tf.Scalar;
  });
  return { variables: [w1, w2, wd, wu, w3, w4], loss };
}

/** D=8, condition 8, two [ActNorm, affine coupling, permutation] blocks; NLL with log-det. */
export function smallCouplingFlow(seed: number, dim = 8, condDim = 8): SmallModel {
  const rng = new Random(seed);
  const half = dim / 2;
  const blocks = [0, 1].map((k) => ({
    logScale: tf.variable(tf.zeros([dim]), true, `an${k}_logs_${nextId++}`),
    loc: tf.variable(tf.zeros([dim]), true, `an${k}_loc_${nextId++}`),
    w1: weight(rng, [half + condDim, 16], half + condDim, `c${k}_w1`),
    w2: weight(rng, [16, dim], 16, `c${k}_w2`),
    perm: tf.tensor1d(Array.from(rng.permutation(dim)), 'int32'),
  }));
  const loss = ([x, c]: tf.Tensor[]) => tf.tidy(() => {
    let h = x!;
    let logDet = tf.zeros([x!.shape[0]!]);
    for (const b of blocks) {
      h = tf.mul(tf.add(h, b.loc), tf.exp(b.logScale));
      logDet = tf.add(logDet, tf.sum(b.logScale));
      const [x1, x2] = tf.split(h, 2, 1);
      const st = tf.matMul(tf.leakyRelu(tf.matMul(tf.concat([x1!, c!], 1), b.w1), 0.01), b.w2);
      const [sRaw, t] = tf.split(st, 2, 1);
      const s = tf.tanh(sRaw!);
      h = tf.concat([x1!, tf.add(tf.mul(x2!, tf.exp(s)), t!)], 1);
      logDet = tf.add(logDet, tf.sum(s, 1));
      h = tf.gather(h, b.perm, 1);
    }
    return tf.sub(tf.mean(tf.mul(0.5, tf.sum(tf.square(h), 1))), tf.mean(logDet)) as tf.Scalar;
  });
  return { variables: blocks.flatMap((b) => [b.logScale, b.loc, b.w1, b.w2]), loss };
}

/** Runs `steps` Adam steps, returning the losses and tf.memory().numTensors after each step. */
export async function train(model: SmallModel, batches: (step: number) => tf.Tensor[], steps: number, lr = 1e-2) {
  const optimizer = tf.train.adam(lr);
  const losses: number[] = [];
  const tensorCounts: number[] = [];
  for (let step = 0; step < steps; step++) {
    const batch = batches(step);
    const cost = optimizer.minimize(() => model.loss(batch), true, model.variables)!;
    losses.push((await cost.data())[0]!);
    tf.dispose([cost, ...batch]);
    tensorCounts.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  return { losses, tensorCounts };
}
