/** `inntrospect reproduce colormnist`: retrain the shipped pipeline from scratch and rewrite the zoo. */
import { availableBackends, initEngine } from '../engine/index.ts';
import { reproduceColorMnist, zooOwnFiles } from '../pipeline/reproduce.ts';
import { checkOutputFolder } from '../runs/output-folder.ts';
import { createProgressBar } from './progress-bar.ts';

export async function reproduceCommand(name: string, options: { preset: string; out: string; runs: string; backend?: string; force?: boolean }): Promise<void> {
  if (name !== 'colormnist') throw new Error(`unknown pipeline '${name}'; reproducible: colormnist`);
  if (options.preset !== 'tiny' && options.preset !== 'default') throw new Error(`--preset must be tiny or default, got '${options.preset}'`);
  // Checked before the engine starts: a non-empty --out is refused without --force.
  checkOutputFolder(options.out, zooOwnFiles, options.force ?? false, '--out');
  // The fastest backend available unless one is named: the native torch backend when built.
  const backend = options.backend ?? process.env['INNTROSPECT_BACKEND'] ?? (availableBackends().includes('torch') ? 'torch' : 'wasm');
  const info = await initEngine({ backend });
  process.stderr.write(`reproducing the ColorMNIST pipeline (${options.preset} preset, backend ${info.backend}) into ${options.out}\n`);
  const manifest = await reproduceColorMnist({
    preset: options.preset, out: options.out, force: options.force, runs: options.runs, backend: info.backend,
    onProgress: createProgressBar(),
    onStage: (stage) => process.stderr.write(`== ${stage}\n`),
  });
  const minutes = (manifest.wallSeconds / 60).toFixed(1);
  process.stderr.write(`done in ${minutes} min: AE ${JSON.stringify(manifest.ae.metrics)}, classifier ${JSON.stringify(manifest.classifier.metrics)}\n`);
  process.stdout.write(`${JSON.stringify({ zoo: options.out, wallSeconds: manifest.wallSeconds, backend: manifest.backend, ae: manifest.ae.metrics, classifier: manifest.classifier.metrics, cinn: Object.fromEntries(Object.entries(manifest.cinn).map(([k, v]) => [k, v.metrics])), iin: manifest.iin.metrics })}\n`);
}
