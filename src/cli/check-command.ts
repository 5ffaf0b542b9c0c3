/** `inntrospect check <model>`: the invertibility self-check of a saved t or e. */
import { initEngine } from '../engine/index.ts';
import { checkInvertibility } from '../flows/invertibility-check.ts';
import { readModel } from '../pipeline/model-files.ts';
import { intOption } from './option-values.ts';

export const ROUND_TRIP_LIMIT = 1e-4;
export const JACOBIAN_LIMIT = 1e-2;

export async function checkCommand(model: string, options: { backend?: string; samples: string; json?: boolean }): Promise<void> {
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
  flow.dispose();
  const ok = report.finite && report.roundTripError < ROUND_TRIP_LIMIT && report.jacobianError < JACOBIAN_LIMIT;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ model: loaded.path, kind: loaded.kind, ok, ...report })}\n`);
  } else {
    process.stdout.write([
      `model                 ${loaded.path} (${loaded.kind}, D = ${flow.dim})`,
      `round trip            ${report.roundTripError.toExponential(2)}  (max |x − f⁻¹(f(x))| / max |x|; limit ${ROUND_TRIP_LIMIT})`,
      `log-det cancellation  ${report.logDetCancellation.toExponential(2)}  (max |log|det J| forward + inverse|)`,
      `log-det vs Jacobian   ${report.jacobianError.toExponential(2)}  (relative to the numerical log|det| of ${samples} samples; limit ${JACOBIAN_LIMIT})`,
      `finite                ${report.finite ? 'yes' : 'NO'}`,
      ok ? 'invertible: yes' : 'invertible: NO',
    ].join('\n') + '\n');
  }
  if (!ok) process.exitCode = 1;
}
