/** `inntrospect reproduce colormnist`: retrain the shipped pipeline from scratch and rewrite the zoo. */
import { availableBackends, initEngine } from '../engine/index.ts';
import { reproduceColorMnist, zooOwnFiles, type ZooRecipeName } from '../pipeline/reproduce.ts';
import { checkOutputFolder } from '../runs/output-folder.ts';
import { FIG4_RECIPES, runFig4, type Fig4RecipeName } from '../report/fig4.ts';
import { createProgressBar } from './progress-bar.ts';
import { withNotesPrinted } from './notes.ts';

export async function reproduceCommand(name: string, options: { preset?: string; recipe?: string; out?: string; runs: string; backend?: string; force?: boolean }): Promise<void> {
  if (name !== 'colormnist' && name !== 'fig4') throw new Error(`unknown pipeline '${name}'; reproducible: colormnist, fig4`);
  if (options.preset !== undefined && options.recipe !== undefined) throw new Error('give --recipe or --preset (its old name), not both');
  // --preset default|tiny is the old spelling of --recipe full|tiny.
  const recipe = options.recipe ?? (options.preset === 'default' ? 'full' : options.preset) ?? 'full';
  if (options.preset !== undefined && !['default', 'tiny', 'quick', 'full'].includes(options.preset)) {
    throw new Error(`--preset (the old name of --recipe) must be default (= full), quick or tiny, got '${options.preset}'`);
  }
  if (!['tiny', 'quick', 'full'].includes(recipe)) throw new Error(`--recipe must be full, quick or tiny, got '${recipe}'`);
  // Checked before the engine starts: a non-empty zoo folder is refused without --force.
  if (name === 'colormnist') checkOutputFolder(options.out ?? 'zoo/colormnist', zooOwnFiles, options.force ?? false, '--out');
  // The fastest backend available unless one is named: the native torch backend when built.
  const backend = options.backend ?? process.env['INNTROSPECT_BACKEND'] ?? (availableBackends().includes('torch') ? 'torch' : 'wasm');
  const info = await initEngine({ backend });
  if (name === 'fig4') {
    const out = options.out ?? `fig4-${recipe}`;
    process.stderr.write(`Fig. 4 as the paper ran it (${recipe} recipe, backend ${info.backend}) into ${out}\n`);
    for (const m of FIG4_RECIPES[recipe as Fig4RecipeName].expectedMisses) process.stderr.write(`expected to miss: ${m}\n`);
    const r = await withNotesPrinted(() => runFig4({ recipe: recipe as Fig4RecipeName, out, runs: `${options.runs}/fig4-${recipe}`, onProgress: createProgressBar(), onStage: (s) => process.stderr.write(`== ${s}\n`) }));
    for (const w of (r.dynamics as { warnings: string[] }).warnings) process.stderr.write(`warning: ${w}\n`);
    process.stderr.write(`${r.claim.holds === null ? 'n/a ' : r.claim.holds ? 'HOLDS' : 'FAILS'}  ${r.claim.id}: ${r.claim.measured}\n`);
    process.stdout.write(`${JSON.stringify({ out, recipe, images: r.images, checkpoints: r.checkpoints, holds: r.claim.holds, numbers: r.claim.numbers })}\n`);
    return;
  }
  const zooRecipe: ZooRecipeName = recipe === 'full' ? 'default' : (recipe as ZooRecipeName);
  const out = options.out ?? 'zoo/colormnist';
  process.stderr.write(`reproducing the ColorMNIST pipeline (${recipe} recipe, backend ${info.backend}) into ${out}\n`);
  const manifest = await withNotesPrinted(() => reproduceColorMnist({
    preset: zooRecipe, out, force: options.force, runs: options.runs, backend: info.backend,
    onProgress: createProgressBar(),
    onStage: (stage) => process.stderr.write(`== ${stage}\n`),
  }));
  const minutes = (manifest.wallSeconds / 60).toFixed(1);
  process.stderr.write(`done in ${minutes} min: AE ${JSON.stringify(manifest.ae.metrics)}, classifier ${JSON.stringify(manifest.classifier.metrics)}\n`);
  process.stdout.write(`${JSON.stringify({ zoo: out, wallSeconds: manifest.wallSeconds, backend: manifest.backend, ae: manifest.ae.metrics, classifier: manifest.classifier.metrics, cinn: Object.fromEntries(Object.entries(manifest.cinn).map(([k, v]) => [k, v.metrics])), iin: manifest.iin.metrics })}\n`);
}
