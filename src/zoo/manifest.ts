/**
 * The shipped pretrained pipeline ("zoo"): a folder of model files plus manifest.json, which
 * lists every file with its sha256, the commands and configs that produced it, and the
 * measured metrics. Browser-safe types; file access lives in src/pipeline/zoo-source.ts.
 */

export const ZOO_FORMAT = 'inntrospect-zoo/1';

export interface ZooFileEntry {
  /** Path relative to the zoo folder. */
  file: string;
  sha256: string;
  bytes: number;
  /** What the file holds: autoencoder, classifier, cinn, iin; 'model' for a model inntrospect did not train (explorer on run folders). */
  kind: 'autoencoder' | 'classifier' | 'cinn' | 'iin' | 'model';
  metrics: Record<string, number>;
}

export interface ZooManifest {
  format: typeof ZOO_FORMAT;
  name: string;
  description: string;
  created: string;
  /** Backend and preset it was trained with. */
  backend: string;
  preset: string;
  /** Wall time of the whole reproduction, seconds. */
  wallSeconds: number;
  ae: ZooFileEntry;
  classifier: ZooFileEntry & { layers: string[] };
  /** Classifier checkpoints during training (for training dynamics), oldest first. */
  snapshots: Array<ZooFileEntry & { step: number }>;
  /**
   * Training dynamics (paper Fig. 4): one t per classifier snapshot, all on `dynamicsLayer`
   * (the last conv layer), in snapshot order.
   */
  dynamics: Array<ZooFileEntry & { step: number }>;
  dynamicsLayer: string;
  /** One t per analysed layer, keyed by layer name, from near the input to the logits. */
  cinn: Record<string, ZooFileEntry>;
  iin: ZooFileEntry & { factors: string[] };
  /** Shell commands that reproduce each model (equivalent to `inntrospect reproduce`). */
  commands: string[];
  /** Resolved configs by model. */
  configs: Record<string, unknown>;
}

/** Every file entry of a manifest. */
export function manifestFiles(m: ZooManifest): ZooFileEntry[] {
  return [m.ae, m.classifier, ...m.snapshots, ...m.dynamics, ...Object.values(m.cinn), m.iin];
}

export class ZooChecksumError extends Error {
  constructor(readonly file: string, readonly expected: string, readonly actual: string) {
    super(`zoo file ${file} does not match its manifest (sha256 ${actual.slice(0, 12)}…, expected ${expected.slice(0, 12)}…); it was modified or corrupted — restore it (git checkout) or rerun 'inntrospect reproduce'`);
    this.name = 'ZooChecksumError';
  }
}
