/**
 * Loading TensorFlow.js Layers models in Node without tfjs-node (which cannot be installed here,
 * docs/engine.md): a file IO handler that reads model.json and its weight shards from disk, and
 * a small zoo of pretrained CNNs whose weights ship inside npm packages.
 *
 * Zoo: `nsfwjs` (pinned) embeds its Keras-converted models as browserify bundles, each exporting
 * either the model.json object or one weight shard as a base64 string. They are extracted at load
 * time from node_modules; nothing is copied into this repository.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import * as tfl from '@tensorflow/tfjs';
import { splittableLayersModel } from './layers-model.ts';
import type { SplittableModel } from './greybox.ts';
import { resolveInside } from './contained-path.ts';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes the weight specs need, or null when a spec's size cannot be known (string weights). */
export function weightBytes(specs: WeightSpec[]): number | null {
  let total = 0;
  for (const s of specs) {
    const width = BYTES[s.quantization?.dtype ?? s.dtype];
    if (width === undefined) return null;
    total += s.shape.reduce((a, b) => a * b, 1) * width;
  }
  return total;
}

/** The buffers one after another in one new ArrayBuffer (weight shards → one weightData). */
export function concatBytes(buffers: Uint8Array[]): ArrayBuffer {
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out.buffer;
}

/** Checks a parsed model.json and returns its topology and weight groups. */
function checkModelJson(json: unknown, source: string): { modelTopology: object; manifest: WeightsGroup[]; rest: Record<string, unknown> } {
  if (typeof json !== 'object' || json === null) throw new Error(`${source}: model.json must hold a JSON object`);
  const obj = json as Record<string, unknown>;
  if (typeof obj['modelTopology'] !== 'object' || obj['modelTopology'] === null) {
    throw new Error(`${source}: no 'modelTopology' object (is this a TensorFlow.js Layers model.json? graph models are not supported)`);
  }
  const topology = obj['modelTopology'] as Record<string, unknown>;
  if (obj['format'] === 'graph-model' || Array.isArray(topology['node'])) {
    throw new Error(`${source}: is a TensorFlow.js graph model (a frozen TensorFlow graph); only Layers models (Keras-converted) can be loaded and split`);
  }
  const manifest = obj['weightsManifest'];
  if (!Array.isArray(manifest) || !manifest.every((g) => Array.isArray(g?.paths) && Array.isArray(g?.weights))) {
    throw new Error(`${source}: 'weightsManifest' must be a list of {paths, weights} groups`);
  }
  return { modelTopology: obj['modelTopology'] as object, manifest: manifest as WeightsGroup[], rest: obj };
}

function artifacts(modelTopology: object, manifest: WeightsGroup[], shards: Uint8Array[][], source: string, rest: Record<string, unknown>): tfl.io.ModelArtifacts {
  const weightSpecs = manifest.flatMap((g) => g.weights);
  const groups = shards.map((g) => concatBytes(g));
  manifest.forEach((g, k) => {
    const need = weightBytes(g.weights);
    const have = groups[k]!.byteLength;
    if (need !== null && need !== have) {
      throw new Error(`${source}: weight files ${g.paths.join(', ')} hold ${have} bytes, but their ${g.weights.length} weights need ${need}`);
    }
  });
  return {
    modelTopology,
    weightSpecs: weightSpecs as tfl.io.WeightsManifestEntry[],
    weightData: concatBytes(groups.map((b) => new Uint8Array(b))),
    format: rest['format'] as string | undefined,
    generatedBy: rest['generatedBy'] as string | undefined,
    convertedBy: rest['convertedBy'] as string | null | undefined,
  };
}

/** Resolves a model folder or model.json path to the model.json path. */
export function modelJsonPath(path: string): string {
  const full = resolve(path);
  if (!existsSync(full)) throw new Error(`${full}: no such model folder or model.json`);
  const json = statSync(full).isDirectory() ? join(full, 'model.json') : full;
  if (!existsSync(json)) throw new Error(`${full}: folder has no model.json`);
  return json;
}

/**
 * A tfjs IO handler that reads a Layers model from disk: model.json plus the weight shards its
 * manifest names (paths relative to model.json). Errors name the file and what was wrong.
 *
 * @example
 *   const model = await tfl.loadLayersModel(fileIOHandler('models/mobilenet/model.json'));
 */
export function fileIOHandler(path: string): tfl.io.IOHandler {
  return {
    load: async (): Promise<tfl.io.ModelArtifacts> => {
      const jsonPath = modelJsonPath(path);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(jsonPath, 'utf8'));
      } catch (error) {
        throw new Error(`${jsonPath}: not valid JSON (${(error as Error).message})`);
      }
      const { modelTopology, manifest, rest } = checkModelJson(json, jsonPath);
      const dir = dirname(jsonPath);
      const shards = manifest.map((g, gi) =>
        g.paths.map((p, pi) => {
          const file = resolveInside(dir, p, jsonPath, `weightsManifest[${gi}].paths[${pi}]`);
          if (!existsSync(file)) throw new Error(`${jsonPath}: weight file ${file} named in weightsManifest does not exist`);
          return readFileSync(file);
        }),
      );
      return artifacts(modelTopology, manifest, shards, jsonPath, rest);
    },
  };
}

/** Loads a Layers model from a folder holding model.json (or the model.json path). */
export async function loadLayersModelFile(path: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(fileIOHandler(path));
}

/** A pretrained model whose weights ship inside an npm package. */
export interface ZooModel {
  id: string;
  description: string;
  /** npm package and folder inside it. */
  package: string;
  folder: string;
  shards: number;
  /** Input [height, width, channels]. */
  inputShape: [number, number, number];
  /** Pixel range the model was trained on. */
  inputRange: [0, 1];
  classNames: string[];
}

const NSFW_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];

export const ZOO: Record<string, ZooModel> = {
  'nsfwjs-mobilenet-v2': {
    id: 'nsfwjs-mobilenet-v2',
    description: "MobileNetV2 (Keras, 224×224, 5 classes) from the npm package nsfwjs",
    package: 'nsfwjs',
    folder: 'dist/models/mobilenet_v2',
    shards: 1,
    inputShape: [224, 224, 3],
    inputRange: [0, 1],
    classNames: NSFW_CLASSES,
  },
  'nsfwjs-inception-v3': {
    id: 'nsfwjs-inception-v3',
    description: "InceptionV3 (Keras, 299×299, 5 classes) from the npm package nsfwjs",
    package: 'nsfwjs',
    folder: 'dist/models/inception_v3',
    shards: 6,
    inputShape: [299, 299, 3],
    inputRange: [0, 1],
    classNames: NSFW_CLASSES,
  },
};

function packageRoot(pkg: string): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve(pkg);
  } catch {
    throw new Error(`zoo: the npm package '${pkg}' is not installed (run \`npm ci\` in the inntrospect folder)`);
  }
  let dir = dirname(main);
  while (!existsSync(join(dir, 'package.json')) || JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== pkg) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`zoo: cannot find the root folder of the npm package '${pkg}' from ${main}`);
    dir = up;
  }
  return dir;
}

/** Reads a zoo model's model.json and weights from its npm package (no network). */
export function zooArtifacts(id: string): tfl.io.ModelArtifacts {
  const entry = ZOO[id];
  if (!entry) throw new Error(`unknown zoo model '${id}'; available: ${Object.keys(ZOO).join(', ')}`);
  const folder = join(packageRoot(entry.package), entry.folder);
  const require = createRequire(import.meta.url);
  const load = (file: string): unknown => {
    const path = join(folder, file);
    if (!existsSync(path)) throw new Error(`zoo model '${id}': ${path} is missing from the ${entry.package} package`);
    try {
      return require(path);
    } catch (error) {
      throw new Error(`zoo model '${id}': cannot read ${path} (${(error as Error).message})`);
    }
  };
  const source = join(folder, 'model.min.js');
  const { modelTopology, manifest, rest } = checkModelJson(load('model.min.js'), source);
  const shards = manifest.map((g) =>
    g.paths.map((p) => {
      const file = `${p}.min.js`;
      const text = load(file);
      if (typeof text !== 'string') throw new Error(`zoo model '${id}': ${join(folder, file)} does not export a base64 string`);
      return new Uint8Array(Buffer.from(text, 'base64'));
    }),
  );
  return artifacts(modelTopology, manifest, shards, source, rest);
}

export async function loadZooModel(id: string): Promise<tfl.LayersModel> {
  const data = zooArtifacts(id);
  return tfl.loadLayersModel(tfl.io.fromMemory(data));
}

/**
 * Loads a model by zoo id or from a folder (or model.json) and makes it splittable.
 *
 * @example
 *   const mobilenet = await loadSplittableModel('nsfwjs-mobilenet-v2');
 *   const gb = mobilenet.split('block_16_project_BN');
 */
export async function loadSplittableModel(spec: string): Promise<{ model: tfl.LayersModel; splittable: SplittableModel; zoo?: ZooModel }> {
  const zoo = ZOO[spec];
  if (zoo) {
    const model = await loadZooModel(spec);
    return { model, splittable: splittableLayersModel(model, spec), zoo };
  }
  if (!existsSync(spec)) {
    throw new Error(`'${spec}' is neither a model folder nor a zoo model; zoo models: ${Object.keys(ZOO).join(', ')}`);
  }
  const model = await loadLayersModelFile(spec);
  return { model, splittable: splittableLayersModel(model, spec) };
}
