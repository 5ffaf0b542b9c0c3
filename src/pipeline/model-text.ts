/**
 * Parses any model file inntrospect writes — autoencoder, classifier (src/models checkpoints)
 * or flow (t, e) — from its text and says what it is. Browser-safe (the explorer uses it);
 * model-files.ts adds file access and zoo checksums for Node.
 */
import '../models/autoencoder.ts';
import '../models/classifier-colormnist.ts';
import '../models/squeezenet.ts';
import { Autoencoder } from '../models/autoencoder.ts';
import { loadModel, parseCheckpoint } from '../models/checkpoints.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import { loadFlow, SAVED_FLOW_FORMAT } from '../flows/serialize.ts';
import { ConditionalINN } from '../flows/cinn.ts';
import { SemanticINN } from '../flows/iin.ts';
import { unpackModelText } from '../zoo/pack.ts';

export type LoadedModel =
  | { kind: 'autoencoder'; path: string; model: Autoencoder }
  | { kind: 'classifier'; path: string; model: StagedClassifier }
  | { kind: 'cinn'; path: string; model: ConditionalINN }
  | { kind: 'iin'; path: string; model: SemanticINN };

/** Parses a model file's text; `source` names it in errors. */
export function parseModelText(text: string, source: string): Omit<LoadedModel, 'path'> {
  text = unpackModelText(text);
  let raw: { format?: unknown; className?: unknown };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch (error) {
    throw new Error(`${source} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (raw.format === SAVED_FLOW_FORMAT) {
    const flow = loadFlow(raw);
    if (flow instanceof ConditionalINN) return { kind: 'cinn', model: flow };
    if (flow instanceof SemanticINN) return { kind: 'iin', model: flow };
    flow.dispose();
    throw new Error(`${source} holds a flow block '${String(raw.className)}', not a complete t or e`);
  }
  if (raw.format === 'inntrospect-model/1') {
    const model = loadModel(parseCheckpoint(text));
    if (model instanceof Autoencoder) return { kind: 'autoencoder', model };
    if ('stages' in model && 'logits' in model) return { kind: 'classifier', model: model as unknown as StagedClassifier };
    model.dispose();
    throw new Error(`${source} holds a '${String(raw.className)}', which is not an autoencoder or classifier`);
  }
  throw new Error(`${source} is not an inntrospect model file (format '${String(raw.format)}')`);
}

