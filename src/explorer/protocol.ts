/**
 * Messages between the explorer page and its worker. The worker owns TensorFlow.js and every
 * model; the page sends requests and receives plain image arrays and numbers. Browser-safe,
 * types only (plus two small helpers).
 *
 * Images are NHWC float32 in the data's value range ([-1, 1] for ColorMNIST).
 */

/** An image the page refers to: a test image by index, or the page's own (an upload) at the test images' size, in [-1, 1]. */
export type ImageRef = { test: number } | { pixels: Float32Array; name: string };

export interface Images {
  data: Float32Array;
  /** [n, height, width, channels]. */
  shape: [number, number, number, number];
}

/** The model's answer for one image: the arg-max output and the softmax probabilities (of logits or log-probabilities). */
export interface Prediction {
  label: number;
  probabilities: number[];
}

export type Request =
  /** `fusion`: the flow path t and e are built with (?fusion=unfused measures the stock-kernel path; default fused). */
  | { type: 'init'; backend: string; fusion?: 'fused' | 'unfused' }
  | { type: 'sample'; image: ImageRef; layer: string; samples: number; seed: number }
  | { type: 'attack'; image: ImageRef; kind: 'fgsm' | 'pgd'; epsilon: number; steps: number; seed: number }
  | { type: 'mix'; a: ImageRef; b: ImageRef; layer: string }
  | { type: 'edit'; image: ImageRef; partner: ImageRef; factor: string; mode: 'towards' | 'random'; amount: number; seed: number }
  | { type: 'dynamicsCurves' }
  | { type: 'dynamicsShow'; image: ImageRef; snapshot: number }
  | { type: 'models' };

export type RequestType = Request['type'];

export interface ModelStatus {
  /** Role: 'autoencoder', 'classifier', 'model under study (…)', 't (layer conv0)', 'e', 'snapshot step 40'. */
  role: string;
  file: string;
  ok: boolean;
  error?: string;
  /** An assumption made while loading (e.g. a model without a card's value range), or why an absent part is absent. */
  note?: string;
  millis?: number;
  /** An optional part the sources do not have (no semantic INN): shown quietly, not as a failure. */
  absent?: boolean;
}

export interface InitResult {
  backend: string;
  /** Backends the worker could have used, for the selector. */
  backends: string[];
  simd: boolean | null;
  title: string;
  description: string;
  models: ModelStatus[];
  /** Layers with a loaded t, input side first. */
  layers: string[];
  factors: string[];
  /** Names of the images' labels (the data's classes). */
  classNames: string[];
  /** Names of the model's outputs (its classes; for our classifiers the data's classes). */
  outputNames: string[];
  /** The model under study, and what input it takes (after the adapter's preprocessing). */
  modelName: string;
  modelInput: string;
  /** Whether the model under study loaded. */
  hasClassifier: boolean;
  hasAutoencoder: boolean;
  snapshots: { step: number; accuracy: number | null }[];
  /** The layer of the snapshots' t's (training dynamics, Fig. 4); null when the zoo has none. */
  dynamicsLayer: string | null;
  testSet: { images: Images; labels: number[]; description: string } | null;
  /** Errors that keep the whole explorer from working (no manifest, no test set). */
  fatal: string | null;
}

export interface SampleResult {
  layer: string;
  input: Images;
  reconstruction: Images;
  samples: Images;
  mean: Images;
  /** [h·w] per-pixel variance over the samples, averaged over channels. */
  variance: Float32Array;
  varianceShape: [number, number];
  varianceMax: number;
  /** Mean cos(Φ(x̄_k), Φ(x)) over the samples, with cos(Φ(D(E(x))), Φ(x)) and random pairs as references. */
  reencoding: { samples: number; perSample: number[]; reconstruction: number; randomPairs: number };
  prediction: Prediction | null;
  millis: number;
}

export interface AttackResult {
  input: Images;
  adversarial: Images;
  random: Images;
  /** D(E(x_adv)). */
  adversarialReconstruction: Images;
  predictions: { clean: Prediction; adversarial: Prediction; random: Prediction };
  /** Per layer: D(t⁻¹(v|Φ(x))) and D(t⁻¹(v|Φ(x_adv))), D(t⁻¹(v|Φ(x_rand))), v = t(E(x)|Φ(x)). */
  layers: { layer: string; clean: Images; adversarial: Images; random: Images; predictionAdversarial: Prediction }[];
  linf: number;
  /** The attack's loss is CE(f(x)/T, y); T > 1 only for a saturated softmax (see worker.ts). */
  temperature: number;
  millis: number;
}

export interface MixResult {
  layer: string;
  a: Images;
  b: Images;
  /** [D(t⁻¹(v_a|z_a)), D(t⁻¹(v_a|z_b)), D(t⁻¹(v_b|z_a)), D(t⁻¹(v_b|z_b))]. */
  mixed: Images;
  predictions: { a: Prediction | null; b: Prediction | null; mixed: Prediction[] | null };
  millis: number;
}

export interface EditResult {
  factor: string;
  input: Images;
  reconstruction: Images;
  partner: Images;
  /** The walk α_k = amount·k/(steps−1), k = 0…steps−1; the last one is the result. */
  walk: Images;
  alphas: number[];
  predictions: { input: Prediction | null; walk: Prediction[] | null };
  millis: number;
}

export interface DynamicsCurves {
  steps: number[];
  /** Test accuracy from the manifest (the trainer's measurement), null when absent. */
  manifestAccuracy: (number | null)[];
  /** Accuracy measured in the page on the served test subset. */
  subsetAccuracy: number[];
  /** Per factor: share of images whose prediction changes when the factor is swapped (Eq. 7), per snapshot. */
  changeRate: Record<string, number[]>;
  /** Per factor: mean ‖f(D(E(x))) − f(x̄*)‖₂ on the logits, per snapshot. */
  distance: Record<string, number[]>;
  images: number;
  /**
   * With a t per snapshot (Fig. 4): per factor, the semantic sensitivity of the snapshot's layer,
   * Var_x E_v ẑ_F / Var_{x,v} ẑ_F with ẑ = e(t⁻¹(v|Φ(x))) (docs/analyses.md §3), in [0, 1]; null without.
   */
  sensitivity: Record<string, (number | null)[]> | null;
  /** The manifold check's warnings (snapshot, factor pairs whose samples are off e's data), empty when none. */
  manifoldWarnings: string[];
  /** Pearson correlation of each factor's sensitivity with the manifest accuracy over snapshots. */
  correlation: Record<string, number | null> | null;
  sensitivityInputs: number;
  sensitivitySamples: number;
  millis: number;
}

export interface DynamicsShowResult {
  step: number;
  /** [x, D(E(x)), then one swap per factor]. */
  images: Images;
  captions: string[];
  predictions: Prediction[];
  /** With a t for this snapshot: D(t⁻¹(v_k|Φ(x))) for fixed v_k (the same for every snapshot); null without. */
  samples: Images | null;
  layer: string | null;
  millis: number;
}

export interface ResultOf {
  init: InitResult;
  sample: SampleResult;
  attack: AttackResult;
  mix: MixResult;
  edit: EditResult;
  dynamicsCurves: DynamicsCurves;
  dynamicsShow: DynamicsShowResult;
  /** Every model file's status so far (snapshots load lazily). */
  models: ModelStatus[];
}

export type WorkerMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { id: -1; progress: string };

/** Softmax + arg-max of one row of logits. */
export function predictionFromLogits(logits: ArrayLike<number>): Prediction {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exps = Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! - max));
  const total = exps.reduce((s, v) => s + v, 0);
  const probabilities = exps.map((v) => v / total);
  let label = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i]! > probabilities[label]!) label = i;
  return { label, probabilities };
}
