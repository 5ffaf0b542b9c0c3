/**
 * Registers the paper's analyses as `inntrospect` commands. Each loads an AnalysisContext from
 * a zoo folder or cinn run folders (default: the shipped zoo), runs the command function of
 * analysis-commands.ts, prints the numbers as JSON and the files it wrote.
 */
import { Command } from 'commander';
import { initEngine } from '../engine/index.ts';
import { loadAnalysis, type AnalysisLoadOptions, type LoadedAnalysis } from '../pipeline/analysis-loader.ts';
import { DEFAULT_ZOO } from '../pipeline/zoo-source.ts';
import {
  attackFigures, dynamicsFigures, invarianceFigures, mixFigures, modifyFigures, sampleFigures, semanticFigures, type Artefact,
} from '../figures/analysis-figures.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../runs/atomic-file.ts';
import { createProgressBar } from './progress-bar.ts';
import { describeImages } from '../analysis/context.ts';
import { withNotesPrinted } from './notes.ts';
import { intOption as int, numberOption as num } from './option-values.ts';

const DEFAULT_SOURCE = DEFAULT_ZOO;

/** What a command loads besides the AE and the model: its layers' t's, e, the snapshots. */
export type Needs = Pick<AnalysisLoadOptions, 'layers' | 'semantic' | 'checkpoints'>;

interface Common {
  out?: string;
  images: string;
  seed: string;
  backend?: string;
  iin?: string;
}

function list(value: string | undefined): string[] | undefined {
  return value ? value.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

/** Writes a figure function's artefacts into `out` (created if missing); returns their paths. */
export function writeArtefacts(out: string, artefacts: readonly Artefact[]): string[] {
  mkdirSync(out, { recursive: true });
  return artefacts.map((a) => {
    const path = join(out, a.name);
    writeFileAtomic(path, a.bytes);
    return path;
  });
}

/**
 * Parses the command's own options (`parse`, so a bad value fails before ~10–25 s of loading),
 * loads what the command needs, runs it, writes its artefacts and prints the numbers.
 */
async function withAnalysis<P>(
  sources: string[], options: Common, name: string, needs: Needs, parse: () => P,
  run: (loaded: LoadedAnalysis, parsed: P, common: { seed: number; onProgress: ReturnType<typeof createProgressBar> }) => Promise<{ artefacts: Artefact[]; numbers: unknown }>,
): Promise<void> {
  const images = int(options.images, '--images', 1, 1_000_000);
  const seed = int(options.seed, '--seed', 0, 2 ** 31 - 1);
  const parsed = parse();
  await initEngine({ backend: options.backend });
  const loaded = await withNotesPrinted(() => loadAnalysis(sources.length ? sources : [DEFAULT_SOURCE], { images, iin: options.iin, ...needs }));
  try {
    const result = await run(loaded, parsed, { seed, onProgress: createProgressBar() });
    const files = writeArtefacts(options.out ?? `analysis/${name}`, result.artefacts);
    process.stderr.write(`wrote ${files.join(', ')}\nimages analysed: ${describeImages(loaded.context.data)}\n`);
    // The semantic measures' manifold check (docs/analyses.md §3): said where a user reads it.
    const warnings = (result.numbers as { warnings?: unknown }).warnings;
    if (Array.isArray(warnings)) for (const w of warnings) process.stderr.write(`warning: ${String(w)}\n`);
    const numbers = result.numbers && typeof result.numbers === 'object' && !Array.isArray(result.numbers) ? { ...result.numbers, analysedImages: describeImages(loaded.context.data) } : result.numbers;
    process.stdout.write(`${JSON.stringify(numbers)}\n`);
  } finally {
    loaded.dispose();
  }
}

/**
 * What each command loads (from a zoo folder nothing else is read): sample and mix one t,
 * invariance and attack the t's of their layers, semantic those and e, modify e, dynamics e and
 * the snapshots with their t's.
 */
export const COMMAND_NEEDS = {
  sample: (o: { layer: string }): Needs => ({ layers: [o.layer], semantic: false, checkpoints: false }),
  mix: (o: { layer: string }): Needs => ({ layers: [o.layer], semantic: false, checkpoints: false }),
  invariance: (o: { layers?: string }): Needs => ({ layers: list(o.layers), semantic: false, checkpoints: false }),
  attack: (o: { layers?: string }): Needs => ({ layers: list(o.layers), semantic: false, checkpoints: false }),
  semantic: (o: { layers?: string }): Needs => ({ layers: list(o.layers), checkpoints: false }),
  modify: (): Needs => ({ layers: [], checkpoints: false }),
  dynamics: (): Needs => ({ layers: [] }),
};

function common(command: Command): Command {
  return command
    .argument('[sources...]', `a zoo folder or cinn run folders (default: ${DEFAULT_SOURCE})`)
    .option('-o, --out <dir>', 'output folder (default: analysis/<command>)')
    .option('--images <n>', 'test images loaded for the analysis', '512')
    .option('--seed <n>', 'seed of every random draw', '0')
    .option('--iin <model>', 'a semantic INN e to use instead of the source\'s')
    .option('-b, --backend <name>', 'backend (default: $INNTROSPECT_BACKEND or wasm)');
}

export function registerAnalysisCommands(program: Command): void {
  common(program.command('sample')
    .description('Invariances of a layer (Fig. 3 left): samples D(t⁻¹(v|Φ(x))) beside x and its reconstruction, mean/variance maps, re-encoding similarity.'))
    .requiredOption('-l, --layer <name>', 'the analysed layer')
    .option('--count <n>', 'inputs', '4')
    .option('-n, --samples <n>', 'samples per input', '8')
    .action((sources: string[], o) => withAnalysis(sources, o, 'sample', COMMAND_NEEDS.sample(o),
      () => ({ layer: o.layer as string, count: int(o.count, '--count', 1), samples: int(o.samples, '--samples', 2) }),
      ({ context }, p, c) => sampleFigures(context, { ...p, ...c })));

  common(program.command('invariance')
    .description('Invariance per layer (Fig. 3 right): variance over samples in image and z̄ space, across depth.'))
    .option('--layers <a,b>', 'layers (default: all analysed)')
    .option('--inputs <n>', 'inputs averaged over', '64')
    .option('-n, --samples <n>', 'samples per input', '16')
    .action((sources: string[], o) => withAnalysis(sources, o, 'invariance', COMMAND_NEEDS.invariance(o),
      () => ({ layers: list(o.layers), inputs: int(o.inputs, '--inputs', 1), samples: int(o.samples, '--samples', 2) }),
      ({ context }, p, c) => invarianceFigures(context, { ...p, ...c })));

  common(program.command('semantic')
    .description('Semantic sensitivity per layer and factor (t and e composed).'))
    .option('--layers <a,b>', 'layers (default: all analysed)')
    .option('--inputs <n>', 'inputs averaged over', '64')
    .option('-n, --samples <n>', 'samples per input', '16')
    .action((sources: string[], o) => withAnalysis(sources, o, 'semantic', COMMAND_NEEDS.semantic(o),
      () => ({ layers: list(o.layers), inputs: int(o.inputs, '--inputs', 2), samples: int(o.samples, '--samples', 2) }),
      ({ context }, p, c) => semanticFigures(context, { ...p, ...c })));

  common(program.command('dynamics')
    .description('Training dynamics (Fig. 4): semantic sensitivity of every classifier snapshot with its accuracy (needs a zoo with dynamics).'))
    .option('--inputs <n>', 'inputs averaged over', '32')
    .option('-n, --samples <n>', 'samples per input', '16')
    .action((sources: string[], o) => withAnalysis(sources, o, 'dynamics', COMMAND_NEEDS.dynamics(),
      () => ({ inputs: int(o.inputs, '--inputs', 2), samples: int(o.samples, '--samples', 2) }),
      ({ context, checkpoints, relevancePairs }, p, c) => {
        if (checkpoints.length === 0) throw new Error('dynamics needs classifier snapshots with a t each (a zoo folder made by inntrospect reproduce)');
        return dynamicsFigures(context, checkpoints, { ...p, relevancePairs: relevancePairs?.(256), ...c });
      }));

  common(program.command('attack')
    .description('Adversarial attacks made visible (Fig. 5): FGSM/PGD, what each layer sees, share of the representation changed, random-sign control.'))
    .option('-k, --kind <fgsm|pgd>', 'attack', 'fgsm')
    .option('-e, --epsilon <eps>', 'L∞ size in [-1, 1] pixel units', '0.1')
    .option('--steps <n>', 'PGD steps', '10')
    .option('--target <class>', 'targeted attack towards this class')
    .option('--layers <a,b>', 'layers (default: all analysed)')
    .option('--count <n>', 'images in the statistics', '64')
    .action((sources: string[], o) => withAnalysis(sources, o, 'attack', COMMAND_NEEDS.attack(o),
      () => {
        if (o.kind !== 'fgsm' && o.kind !== 'pgd') throw new Error(`--kind must be fgsm or pgd, got '${o.kind}'`);
        return {
          kind: o.kind as 'fgsm' | 'pgd', epsilon: num(o.epsilon, '--epsilon'), steps: int(o.steps, '--steps', 1, 100_000),
          target: o.target === undefined ? undefined : int(o.target, '--target'), layers: list(o.layers), count: int(o.count, '--count', 1),
        };
      },
      ({ context }, p, c) => attackFigures(context, { ...p, ...c })));

  common(program.command('modify')
    .description('Semantic modifications (Fig. 7): swap a factor from another image, decode, and the model\'s sensitivity per factor.'))
    .option('--factors <a,b>', 'factors (default: all but the residual)')
    .option('--count <n>', 'test images averaged over', '256')
    .action((sources: string[], o) => withAnalysis(sources, o, 'modify', COMMAND_NEEDS.modify(),
      () => ({ factors: list(o.factors), count: int(o.count, '--count', 1) }),
      ({ context }, p, c) => modifyFigures(context, { ...p, ...c })));

  common(program.command('mix')
    .description('Image mixing: D(t⁻¹(v₁|z₂)), z of one image with v of another.'))
    .requiredOption('-l, --layer <name>', 'the analysed layer')
    .option('--count <n>', 'images per side', '6')
    .action((sources: string[], o) => withAnalysis(sources, o, 'mix', COMMAND_NEEDS.mix(o),
      () => ({ layer: o.layer as string, count: int(o.count, '--count', 1) }),
      ({ context }, p, c) => mixFigures(context, { ...p, ...c })));
}
