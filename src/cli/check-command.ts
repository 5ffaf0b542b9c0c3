/**
 * `inntrospect check <model>`: the invertibility self-check of a saved t or e; for an e also its
 * quality (src/analysis/e-quality.ts) on the test images of the data it was trained on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { initEngine } from '../engine/index.ts';
import { checkInvertibility } from '../flows/invertibility-check.ts';
import type { SemanticINN } from '../flows/iin.ts';
import { readModel, readModelOfKind } from '../pipeline/model-files.ts';
import { analysisImages, relevancePairsFor } from '../pipeline/analysis-loader.ts';
import { DEFAULT_DATA_CONFIG, type DataConfig } from '../pipeline/data-spec.ts';
import { datasetAttributes, eQuality, formatEQuality, type EQualityResult } from '../analysis/e-quality.ts';
import { describeImages } from '../analysis/context.ts';
import { intOption } from './option-values.ts';

export const ROUND_TRIP_LIMIT = 1e-4;
export const JACOBIAN_LIMIT = 1e-2;

/** The AE and the data an e was trained with: from its run folder's config, or its zoo's manifest. */
function trainedWith(path: string, aeOption: string | undefined): { ae: string; data: DataConfig } {
  const dir = dirname(path);
  const config = join(dir, 'config.json');
  if (existsSync(config)) {
    const c = JSON.parse(readFileSync(config, 'utf8')) as { ae?: string; data?: DataConfig };
    if (!c.ae && !aeOption) throw new Error(`${config} names no AE; give --ae`);
    return { ae: aeOption ?? c.ae!, data: { ...DEFAULT_DATA_CONFIG, ...c.data } };
  }
  const manifest = join(dir, 'manifest.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { ae: { file: string }; configs?: { iin?: { data?: DataConfig } } };
    return { ae: aeOption ?? join(dir, m.ae.file), data: { ...DEFAULT_DATA_CONFIG, ...m.configs?.iin?.data } };
  }
  if (!aeOption) throw new Error(`${path} is neither in a run folder nor in a zoo; give --ae (and it is probed on ColorMNIST)`);
  return { ae: aeOption, data: DEFAULT_DATA_CONFIG };
}

async function semanticQuality(e: SemanticINN, path: string, options: { ae?: string; images: string }): Promise<{ quality: EQualityResult; images: string }> {
  const { ae: aeSpec, data: dataConfig } = trainedWith(path, options.ae);
  const ae = readModelOfKind(aeSpec, 'autoencoder', '--ae').model;
  try {
    const data = await analysisImages(dataConfig, intOption(options.images, '--images', 4));
    const pairs = relevancePairsFor(data, e);
    return { quality: eQuality(ae, e, data, datasetAttributes(data), pairs?.(Math.min(1000, data.shape[0]))), images: describeImages(data) };
  } finally {
    ae.dispose();
  }
}

export async function checkCommand(model: string, options: { backend?: string; samples: string; json?: boolean; ae?: string; images?: string; quality?: boolean }): Promise<void> {
  const samples = intOption(options.samples, '--samples', 1, 10_000);
  await initEngine({ backend: options.backend });
  const loaded = readModel(model);
  if (loaded.kind !== 'cinn' && loaded.kind !== 'iin') {
    loaded.model.dispose();
    throw new Error(`${loaded.path} is an ${loaded.kind}; check works on invertible models (a cinn t or an iin e)`);
  }
  const flow = loaded.model;
  const report = checkInvertibility(flow, {
    dim: flow.dim,
    conditionShape: loaded.kind === 'cinn' ? loaded.model.cfg.conditionShape : undefined,
    samples,
  });
  let quality: { quality: EQualityResult; images: string } | null = null;
  try {
    if (loaded.kind === 'iin' && options.quality !== false) quality = await semanticQuality(loaded.model, loaded.path, { ae: options.ae, images: options.images ?? '1000' });
  } finally {
    flow.dispose();
  }
  const ok = report.finite && report.roundTripError < ROUND_TRIP_LIMIT && report.jacobianError < JACOBIAN_LIMIT;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ model: loaded.path, kind: loaded.kind, ok, ...report, ...(quality ? { eQuality: quality.quality, images: quality.images } : {}) })}\n`);
  } else {
    process.stdout.write([
      `model                 ${loaded.path} (${loaded.kind}, D = ${flow.dim})`,
      `round trip            ${report.roundTripError.toExponential(2)}  (max |x − f⁻¹(f(x))| / max |x|; limit ${ROUND_TRIP_LIMIT})`,
      `log-det cancellation  ${report.logDetCancellation.toExponential(2)}  (max |log|det J| forward + inverse|)`,
      `log-det vs Jacobian   ${report.jacobianError.toExponential(2)}  (relative to the numerical log|det| of ${samples} samples; limit ${JACOBIAN_LIMIT})`,
      `finite                ${report.finite ? 'yes' : 'NO'}`,
      ok ? 'invertible: yes' : 'invertible: NO',
      ...(quality ? [`images                ${quality.images}`, ...formatEQuality(quality.quality)] : []),
    ].join('\n') + '\n');
  }
  if (!ok) process.exitCode = 1;
}
