/**
 * Pairs for the semantic INN e from a JSON file the user writes about their own images (Node
 * only for reading; the sampler is plain data). Two forms, paths relative to the image folder
 * (`data.folder`), as `inntrospect train iin --pairs pairs.json` takes them:
 *
 *   { "pairs": [ { "a": "cats/1.jpg", "b": "cats/7.jpg", "factor": "animal" }, … ] }
 *       explicit pairs; each shares the named factor. Factors in order of first appearance.
 *
 *   { "attributes": { "cats/1.jpg": { "animal": "cat", "light": "day" }, … } }
 *       per-image attribute values; a pair is an anchor, one of its attributes drawn uniformly
 *       (among those another image shares), and a partner drawn uniformly among the images with
 *       the same value. Factors in order of first appearance.
 *
 * A residual factor is appended last (never shared), as the IIN loss expects.
 */
import { readFileSync } from 'node:fs';
import { Random } from '../engine/random.ts';
import { imageSize, type ImageDataset } from '../data/dataset.ts';
import { BaseSampler, type PairBatch, type PairSampler, type PairSamplerOptions, type PairSide } from '../data/pairs.ts';

export interface PairFileSpec {
  /** Factor names without the residual. */
  factors: string[];
  /** Explicit pairs (dataset indices and factor index), or null for the attribute form. */
  pairs: { a: number; b: number; factor: number }[] | null;
  /** Attribute form: per factor, per image, its value id (−1: none). */
  values: Int32Array[] | null;
}

function normalise(p: string): string {
  return p.replace(/\\/g, '/').replace(/^\.\//, '');
}

/**
 * Parses the JSON against the dataset's file list; errors name the file, the entry and what to
 * change.
 */
export function parsePairFile(json: unknown, files: readonly string[], source: string, heldOut: readonly string[] = []): PairFileSpec {
  const index = new Map(files.map((f, i) => [normalise(f), i]));
  // Images held out for evaluation (data.testFraction) are not trained on: entries naming them are skipped.
  const held = new Set(heldOut.map(normalise));
  const isHeld = (path: unknown) => typeof path === 'string' && held.has(normalise(path));
  const lookup = (path: unknown, where: string): number => {
    if (typeof path !== 'string') throw new Error(`${source}: ${where} must be an image path (relative to data.folder), got ${JSON.stringify(path)}`);
    const i = index.get(normalise(path));
    if (i === undefined) throw new Error(`${source}: ${where} '${path}' is not an image of the folder (paths are relative to data.folder, e.g. '${files[0]}')`);
    return i;
  };
  if (typeof json !== 'object' || json === null) throw new Error(`${source}: expected {"pairs": [...]} or {"attributes": {...}}`);
  const o = json as Record<string, unknown>;
  const factors: string[] = [];
  const factorIndex = (name: unknown, where: string): number => {
    if (typeof name !== 'string' || !name || name === 'residual') throw new Error(`${source}: ${where} must be a factor name (a non-empty string other than 'residual'), got ${JSON.stringify(name)}`);
    let k = factors.indexOf(name);
    if (k < 0) k = factors.push(name) - 1;
    return k;
  };
  if (Array.isArray(o['pairs'])) {
    const pairs = (o['pairs'] as unknown[]).filter((p) => !isHeld((p as Record<string, unknown> | null)?.['a']) && !isHeld((p as Record<string, unknown> | null)?.['b'])).map((p, n) => {
      const e = (p ?? {}) as Record<string, unknown>;
      const a = lookup(e['a'], `pairs[${n}].a`);
      const b = lookup(e['b'], `pairs[${n}].b`);
      return { a, b, factor: factorIndex(e['factor'], `pairs[${n}].factor`) };
    });
    if (pairs.length === 0) throw new Error(`${source}: 'pairs' is empty`);
    return { factors, pairs, values: null };
  }
  if (typeof o['attributes'] === 'object' && o['attributes'] !== null) {
    const entries = Object.entries(o['attributes'] as Record<string, unknown>).filter(([path]) => !isHeld(path));
    const raw: { image: number; attrs: Record<string, unknown> }[] = entries.map(([path, attrs]) => {
      if (typeof attrs !== 'object' || attrs === null) throw new Error(`${source}: attributes of '${path}' must be an object like {"colour": "red"}`);
      return { image: lookup(path, 'attributes key'), attrs: attrs as Record<string, unknown> };
    });
    for (const r of raw) for (const k of Object.keys(r.attrs)) factorIndex(k, `attribute name in '${files[r.image]}'`);
    const values = factors.map((name) => {
      const ids = new Map<string, number>();
      const v = new Int32Array(files.length).fill(-1);
      for (const r of raw) {
        if (!(name in r.attrs)) continue;
        const key = JSON.stringify(r.attrs[name]);
        if (!ids.has(key)) ids.set(key, ids.size);
        v[r.image] = ids.get(key)!;
      }
      return v;
    });
    return { factors, pairs: null, values };
  }
  throw new Error(`${source}: expected {"pairs": [{"a": …, "b": …, "factor": …}, …]} or {"attributes": {"<image>": {"<factor>": <value>}, …}}`);
}

/** Reads and parses a pair file for a dataset that has `files` (an image folder). */
export function readPairFile(path: string, ds: ImageDataset): PairFileSpec {
  const files = (ds as ImageDataset & { files?: string[] }).files;
  if (!files) throw new Error(`--pairs ${path}: needs data.dataset 'folder' (the file names images of data.folder), got '${ds.name}'`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`--pairs ${path}: cannot read it as JSON (${(error as Error).message})`);
  }
  return parsePairFile(json, files, path, (ds as ImageDataset & { heldOut?: string[] }).heldOut);
}

/** Candidate (factor, partner list) for each anchor in the attribute form. */
function attributeChoices(values: Int32Array[], n: number): { anchors: number[]; choices: { factor: number; partners: Int32Array }[][] } {
  const groups = values.map((v) => {
    const m = new Map<number, number[]>();
    v.forEach((id, i) => { if (id >= 0) (m.get(id) ?? m.set(id, []).get(id)!).push(i); });
    return m;
  });
  const anchors: number[] = [];
  const choices: { factor: number; partners: Int32Array }[][] = [];
  for (let i = 0; i < n; i++) {
    const c: { factor: number; partners: Int32Array }[] = [];
    values.forEach((v, f) => {
      if (v[i]! < 0) return;
      const others = groups[f]!.get(v[i]!)!.filter((j) => j !== i);
      if (others.length > 0) c.push({ factor: f, partners: Int32Array.from(others) });
    });
    if (c.length > 0) {
      anchors.push(i);
      choices.push(c);
    }
  }
  return { anchors, choices };
}

class FilePairSampler extends BaseSampler {
  readonly factorNames: string[];
  protected readonly kind: string;
  private readonly anchors: number[];
  private readonly choices: { factor: number; partners: Int32Array }[][];
  private readonly frozen: { factor: number; partner: number }[] | null = null;

  constructor(private readonly ds: ImageDataset, private readonly spec: PairFileSpec, options: PairSamplerOptions) {
    const { anchors, choices } = FilePairSampler.anchorsOf(spec, ds.shape[0]);
    super(anchors.length, { ...options, batchSize: Math.min(options.batchSize, anchors.length) });
    this.anchors = anchors;
    this.choices = choices;
    this.factorNames = [...spec.factors, 'residual'];
    this.kind = spec.pairs ? 'pair-file' : 'attribute-file';
    if (options.mode === 'frozen' && !spec.pairs) {
      const r = new Random(options.frozenSeed ?? 1);
      this.frozen = this.choices.map((c) => {
        const pick = c[r.int(c.length)]!;
        return { factor: pick.factor, partner: pick.partners[r.int(pick.partners.length)]! };
      });
    }
  }

  /** The anchors a batch draws from: every listed pair, or every image that shares an attribute with another. */
  private static anchorsOf(spec: PairFileSpec, images: number): { anchors: number[]; choices: { factor: number; partners: Int32Array }[][] } {
    if (spec.pairs) return { anchors: spec.pairs.map((_, k) => k), choices: [] };
    const found = attributeChoices(spec.values!, images);
    if (found.anchors.length === 0) throw new Error('pair file: no two images share an attribute value, so no pair can be formed; give at least two images the same value of some attribute');
    return found;
  }

  next(): PairBatch {
    const { indices, epoch, step } = this.iterator.next();
    const B = indices.length;
    const per = imageSize(this.ds);
    const side = (): PairSide => ({ images: new Float32Array(B * per), indices: new Int32Array(B), labels: new Int32Array(B) });
    const a = side();
    const b = side();
    const factors = new Int32Array(B);
    for (let k = 0; k < B; k++) {
      const n = indices[k]!;
      let i: number;
      let j: number;
      if (this.spec.pairs) {
        ({ a: i, b: j, factor: factors[k] } = this.spec.pairs[n]!);
      } else {
        i = this.anchors[n]!;
        if (this.frozen) {
          factors[k] = this.frozen[n]!.factor;
          j = this.frozen[n]!.partner;
        } else {
          const c = this.choices[n]!;
          const pick = c[this.rng.int(c.length)]!;
          factors[k] = pick.factor;
          j = pick.partners[this.rng.int(pick.partners.length)]!;
        }
      }
      a.indices[k] = i;
      b.indices[k] = j;
      a.labels[k] = this.ds.labels[i]!;
      b.labels[k] = this.ds.labels[j]!;
      a.images.set(this.ds.images.subarray(i * per, (i + 1) * per), k * per);
      b.images.set(this.ds.images.subarray(j * per, (j + 1) * per), k * per);
    }
    const [, h, w, c] = this.ds.shape;
    return { a, b, factors, shape: [B, h, w, c], epoch, step };
  }

}

/**
 * A resumable pair sampler over a parsed pair file.
 *
 * @example
 *   const pairs = filePairs(folderData, readPairFile('pairs.json', folderData), { batchSize: 8, seed: 1 });
 */
export function filePairs(ds: ImageDataset, spec: PairFileSpec, options: PairSamplerOptions): PairSampler {
  return new FilePairSampler(ds, spec, options);
}
