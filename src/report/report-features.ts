/**
 * The feature network of the report's Fréchet distance (Table 1), named `<model>:<layer>` as
 * `inntrospect report --features` and `p.report({ features })` take it. Node only (it opens a
 * model from the package's zoo or a folder).
 */
import { featureExtractor, type FeatureExtractor } from '../analysis/fid.ts';
import { loadSplittable } from '../pipeline/splittable-source.ts';

/** MobileNetV2 from nsfwjs (an npm dependency), at its last hidden layer. */
export const DEFAULT_FEATURES = 'nsfwjs-mobilenet-v2:dense_1';

/**
 * @example
 *   const { features, dispose } = await reportFeatures('nsfwjs-mobilenet-v2:dense_1');
 */
export async function reportFeatures(spec: string = DEFAULT_FEATURES): Promise<{ features: FeatureExtractor; dispose(): void }> {
  const cut = spec.lastIndexOf(':');
  if (cut <= 0) throw new Error(`--features must be <model>:<layer> (e.g. ${DEFAULT_FEATURES}), got '${spec}'`);
  const source = await loadSplittable(spec.slice(0, cut));
  try {
    const gb = source.splittable.split(spec.slice(cut + 1));
    const [h, w] = gb.inputShape as [number, number, number];
    const range = source.zoo?.inputRange ?? [-1, 1];
    // Grey data (MNIST, Fashion-MNIST) through an RGB feature network: channels repeated.
    const features = featureExtractor(spec, (x) => gb.phi(x), { size: [h, w], from: [-1, 1], to: [range[0], range[1]] as [0, 1] | [-1, 1], greyToRgb: gb.inputShape[2] === 3 });
    return { features, dispose: () => source.dispose() };
  } catch (error) {
    source.dispose();
    throw error;
  }
}
