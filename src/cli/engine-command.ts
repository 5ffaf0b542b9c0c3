/** `inntrospect engine`: backend report and kernel self-check. */
import { initEngine } from '../engine/index.ts';
import { selfCheck } from '../engine/self-check.ts';

export async function engineCommand(options: { backend?: string; json?: boolean }): Promise<void> {
  const info = await initEngine({ backend: options.backend });
  const report = await selfCheck(info.backend);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ engine: info, selfCheck: report })}\n`);
  } else {
    const lines = [
      `backend        ${info.backend} (tfjs ${info.tfjsVersion}, ${info.runtime})`,
      `SIMD           ${info.simd === null ? 'n/a' : info.simd ? 'yes' : 'no'}`,
      `threads        ${info.threads}`,
      `own kernels    ${info.ownKernels.length ? info.ownKernels.join(', ') : 'none'}`,
      `self-check     ${report.passed}/${report.cases.length} kernel cases match the ${report.reference} reference ` +
        `(outputs and gradients, relative error < ${report.tolerance})`,
    ];
    for (const c of report.cases.filter((r) => !r.ok)) {
      lines.push(`  FAILED ${c.name}: ${c.failure ?? `output ${c.outputError.toExponential(2)}, gradient ${c.gradientError.toExponential(2)}`}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (report.failed > 0) process.exitCode = 1;
}
