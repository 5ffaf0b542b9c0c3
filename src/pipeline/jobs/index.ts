/** The four training jobs by kind, with their default configs and presets. */
import type { DeepPartial, MovedKeys } from '../../config/config.ts';
import type { ConfigLimits } from '../../config/limits.ts';
import type { JobKind, TrainingJob } from '../job.ts';
import { AE_JOB_LIMITS, AE_JOB_PRESETS, AeJob, DEFAULT_AE_JOB_CONFIG } from './ae-job.ts';
import { CINN_JOB_LIMITS, CINN_JOB_PRESETS, CinnJob, DEFAULT_CINN_JOB_CONFIG } from './cinn-job.ts';
import { CLASSIFIER_JOB_LIMITS, CLASSIFIER_JOB_PRESETS, ClassifierJob, DEFAULT_CLASSIFIER_JOB_CONFIG } from './classifier-job.ts';
import { DEFAULT_IIN_JOB_CONFIG, IIN_JOB_LIMITS, IIN_JOB_PRESETS, IinJob } from './iin-job.ts';

export type PresetName = 'tiny' | 'default';

export interface JobDefinition {
  kind: JobKind;
  description: string;
  defaults: object;
  presets: Record<PresetName, DeepPartial<object>>;
  /** Old spellings of keys that have moved (refused with the new name). */
  moved: MovedKeys;
  /** Integer-ness and range of every number in the config, checked before anything loads. */
  limits: ConfigLimits;
  /**
   * Keys a resume may change (the optimisation's length and step size); every other key shapes
   * the model or the data and must stay as the checkpoint was trained.
   */
  resumable: readonly string[];
  create(config: object): Promise<TrainingJob>;
}

/** cinn and iin kept their optimisation keys at the top level until they joined every job's `train`. */
const FLOW_MOVED: MovedKeys = Object.fromEntries(['seed', 'steps', 'batchSize', 'learningRate', 'beta1', 'beta2'].map((k) => [k, `train.${k}`]));

export const JOBS: Record<JobKind, JobDefinition> = {
  ae: {
    kind: 'ae', description: 'the autoencoder E/D that gives z̄',
    defaults: DEFAULT_AE_JOB_CONFIG, presets: AE_JOB_PRESETS, moved: {}, limits: AE_JOB_LIMITS, resumable: ['train.steps', 'train.learningRate', 'train.decayStart'],
    create: (c) => AeJob.create(c as typeof DEFAULT_AE_JOB_CONFIG),
  },
  classifier: {
    kind: 'classifier', description: 'a classifier under study (colormnist or squeezenet), with snapshots for training dynamics',
    defaults: DEFAULT_CLASSIFIER_JOB_CONFIG, presets: CLASSIFIER_JOB_PRESETS, moved: {}, limits: CLASSIFIER_JOB_LIMITS, resumable: ['train.steps', 'train.learningRate', 'train.decayStart'],
    create: (c) => ClassifierJob.create(c as typeof DEFAULT_CLASSIFIER_JOB_CONFIG),
  },
  cinn: {
    kind: 'cinn', description: 'the conditional INN t for one layer of a classifier',
    defaults: DEFAULT_CINN_JOB_CONFIG, presets: CINN_JOB_PRESETS, moved: FLOW_MOVED, limits: CINN_JOB_LIMITS, resumable: ['train.steps', 'train.learningRate'],
    create: (c) => CinnJob.create(c as typeof DEFAULT_CINN_JOB_CONFIG),
  },
  iin: {
    kind: 'iin', description: 'the semantic INN e on ColorMNIST factor pairs',
    defaults: DEFAULT_IIN_JOB_CONFIG, presets: IIN_JOB_PRESETS, moved: FLOW_MOVED, limits: IIN_JOB_LIMITS, resumable: ['train.steps', 'train.learningRate'],
    create: (c) => IinJob.create(c as typeof DEFAULT_IIN_JOB_CONFIG),
  },
};

export function jobDefinition(kind: string): JobDefinition {
  const def = (JOBS as Record<string, JobDefinition>)[kind];
  if (!def) throw new Error(`unknown model kind '${kind}'; one of: ${Object.keys(JOBS).join(', ')}`);
  return def;
}
