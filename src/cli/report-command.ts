/** `inntrospect report [source]`: the self-contained HTML report with the paper's claims checked. */
import { dirname } from 'node:path';
import { mkdirSync } from 'node:fs';
import { initEngine } from '../engine/index.ts';
import { loadAnalysis } from '../pipeline/analysis-loader.ts';
import { withNotesPrinted } from './notes.ts';
import { DEFAULT_FEATURES, reportFeatures } from '../report/report-features.ts';
import { checkReportOutputs, DEFAULT_REPORT_OPTIONS, writeReport } from '../report/report.ts';
import { createProgressBar } from './progress-bar.ts';
import { intOption as int, numberOption } from './option-values.ts';

export { DEFAULT_FEATURES };

export interface ReportCommandOptions {
  out: string;
  features: string;
  images: string;
  inputs: string;
  samples: string;
  tableImages: string;
  seeds: string;
  mvImages: string;
  dnbSteps: string;
  epsilon: string;
  iin?: string;
  fig4?: string;
  backend?: string;
}

export async function reportCommand(sources: string[], o: ReportCommandOptions): Promise<void> {
  // Before anything loads: the outputs must not replace a file that is not an earlier report.
  checkReportOutputs(o.out);
  const numbers = {
    images: int(o.images, '--images', 8, 1_000_000), inputs: int(o.inputs, '--inputs', 1, 100_000), samples: int(o.samples, '--samples', 2, 100_000),
    tableImages: int(o.tableImages, '--table-images', 4, 1_000_000), tableSeeds: o.seeds.split(',').map((s) => int(s, '--seeds', 0, 2 ** 31 - 1)),
    mvImages: int(o.mvImages, '--mv-images', 0, 100_000), dnbSteps: int(o.dnbSteps, '--dnb-steps', 1, 10_000_000), epsilon: numberOption(o.epsilon, '--epsilon'),
  };
  if (!(numbers.epsilon > 0 && numbers.epsilon <= 2)) throw new Error(`--epsilon must be a number > 0 and ≤ 2 (pixels are in [-1, 1]), got '${o.epsilon}'`);
  await initEngine({ backend: o.backend });
  const featureSource = await reportFeatures(o.features);
  const features = featureSource.features;
  const source = sources[0] ?? 'zoo/colormnist';
  const loaded = await withNotesPrinted(() => loadAnalysis(sources.length ? sources : [source], { images: numbers.images, iin: o.iin }));
  try {
    mkdirSync(dirname(o.out), { recursive: true });
    const result = await writeReport(loaded, {
      ...DEFAULT_REPORT_OPTIONS,
      out: o.out, features, source,
      inputs: numbers.inputs, samples: numbers.samples, tableImages: numbers.tableImages, tableSeeds: numbers.tableSeeds,
      mvImages: numbers.mvImages, dnbSteps: numbers.dnbSteps, epsilon: numbers.epsilon, fig4: o.fig4,
      onProgress: createProgressBar(),
      onStage: (s) => process.stderr.write(`== ${s}\n`),
    });
    for (const c of result.claims) process.stderr.write(`${c.holds === null ? 'n/a ' : c.holds ? 'HOLDS' : 'FAILS'}  ${c.id}: ${c.measured}${c.why ? `\n       why: ${c.why}` : ''}\n`);
    process.stdout.write(`${JSON.stringify({ report: result.html, numbers: result.json, seconds: result.seconds, claims: Object.fromEntries(result.claims.map((c) => [c.id, c.holds])) })}\n`);
  } finally {
    loaded.dispose();
    featureSource.dispose();
  }
}
