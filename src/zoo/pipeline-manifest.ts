/**
 * What the explorer's worker reads at /models/manifest.json: a zoo manifest (src/zoo/manifest.ts)
 * as `inntrospect reproduce` writes it, or the in-memory one the server makes from run folders
 * (src/pipeline/run-sources.ts). Run folders may study a model inntrospect did not train (a TensorFlow.js
 * Layers or graph model, or a zoo id such as nsfwjs-mobilenet-v2): then `model` describes it and
 * there is no `classifier`. Browser-safe types.
 */
import type { ModelCard } from '../models/model-under-study.ts';
import type { ZooFileEntry, ZooManifest } from './manifest.ts';

/** A model under study that inntrospect did not train, served as one model.json and one weights file. */
export interface ExternalModelEntry {
  /** The spec the cinn runs name: a zoo id or a model folder. */
  spec: string;
  /**
   * 'layers' (split at clean cuts; Φ and Ψ), 'graph' (Φ to a node; no Ψ) or 'onnx' (`weights` is
   * the .onnx file, `json` a descriptor; Φ at every node, Ψ at clean cuts).
   */
  format: 'layers' | 'graph' | 'onnx';
  /** model.json, its weights manifest pointing at `weights` as one group. */
  json: ZooFileEntry;
  weights: ZooFileEntry;
  /** What the model's files say beyond its own input shape: the zoo entry or model-card.json. */
  card: Partial<ModelCard> | null;
  /** Where `card` came from ('zoo (nsfwjs)', 'model-card.json', or '' when there is none). */
  cardSource: string;
}

export type ExplorerManifest = Omit<ZooManifest, 'classifier'> & {
  /** inntrospect's own classifier; absent when `model` is given. */
  classifier?: ZooManifest['classifier'];
  /** A model inntrospect did not train (run folders of `inntrospect train cinn --model <spec>`). */
  model?: ExternalModelEntry;
};
