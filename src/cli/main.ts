/**
 * The `inntrospect` command line. Commands print; the library they call never does.
 */
import { Command, CommanderError, Option } from 'commander';
import { engineCommand } from './engine-command.ts';
import { layersCommand, zooModelIds } from './layers-command.ts';
import { trainCommand } from './train-command.ts';
import { checkCommand } from './check-command.ts';
import { reproduceCommand } from './reproduce-command.ts';
import { exploreCommand } from './explore-command.ts';
import { registerAnalysisCommands } from './analysis-cli.ts';
import { DEFAULT_FEATURES, reportCommand } from './report-command.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('inntrospect')
    .description('Interpret a CNN layer: what it keeps, what it is invariant to, and which concepts it encodes (INN-based, Rombach, Esser & Ommer, ECCV 2020).')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('engine')
    .description('Show the compute backend (SIMD, threads) and run the kernel self-check against the cpu reference.')
    .option('-b, --backend <name>', 'backend to check (default: $INNTROSPECT_BACKEND or wasm)')
    .option('--json', 'print the report as one JSON object')
    .action(engineCommand);
  program
    .command('layers')
    .description(`List a model's layers with output shapes and whether each is a clean cut for a greybox split. MODEL: a folder with a TensorFlow.js Layers model.json, an .onnx file (every node listed with --cuts, clean or not), or a zoo model (${zooModelIds().join(', ')}).`)
    .argument('<model>', 'model folder, model.json, .onnx file, or zoo model id')
    .option('-b, --backend <name>', 'backend (default: $INNTROSPECT_BACKEND or wasm)')
    .option('--cuts', 'list only the clean cut points')
    .option('--json', 'print one JSON object')
    .action(layersCommand);
  program
    .command('train')
    .description('Train a model in a run folder (runs/<time>_<name>/): ae, classifier, cinn (t for one layer) or iin (e). Config overrides: --key.sub=value (e.g. --train.steps=500).')
    .argument('<kind>', 'ae | classifier | cinn | iin')
    .argument('[overrides...]', 'dotted config overrides, --key.sub=value')
    .option('-p, --preset <name>', 'tiny (about a minute) or default (sized for 2 CPU cores)', 'default')
    .option('-c, --config <file...>', 'JSON config files, merged left to right over the preset')
    .option('--ae <model>', 'cinn/iin: the trained autoencoder (model file or run folder)')
    .option('--model <model>', 'cinn: the model under study (inntrospect run folder/model file, TF.js model folder, .onnx file or a folder with one, or zoo id)')
    .option('--layer <name>', "cinn: the classifier's layer to interpret")
    .option('--data <folder>', 'your own images: shortcut for --data.dataset=folder --data.folder=<folder> (labels from sub-folders)')
    .option('--pairs <file>', 'iin: a JSON file of image pairs or attributes for the semantic INN (docs/byom.md)')
    .option('-n, --name <name>', 'run name (folder suffix)')
    .option('--runs <dir>', 'parent folder of run folders', 'runs')
    .option('--resume <run>', 'continue a run from its last checkpoint (same data order and random streams)')
    .option('--checkpoint-every <steps>', 'write a resumable checkpoint every N steps', '200')
    .option('--sample-every <steps>', 'write sample images every N steps (0: at the end only)', '0')
    .option('--eval-every <steps>', 'evaluate on held-out data every N steps (0: at the end only)', '0')
    .option('-b, --backend <name>', 'backend (default: $INNTROSPECT_BACKEND or wasm)')
    .addOption(new Option('--crash-after-step <n>', 'testing: kill the process (SIGKILL) after step n').hideHelp())
    .addOption(new Option('--crash-during-checkpoint <n>', 'testing: kill the process (SIGKILL) while checkpoint n is half written').hideHelp())
    .allowUnknownOption(true)
    .action((kind: string, overrides: string[], options) => trainCommand(kind, overrides, options));
  program
    .command('check')
    .description('Invertibility self-check of a saved t or e: round-trip error, log-det cancellation, log-det vs the numerical Jacobian; for an e also its quality (what each factor separates, pair correlations beside their bound).')
    .argument('<model>', 'a cinn or iin model file, or its run folder')
    .option('-s, --samples <n>', 'samples to check', '4')
    .option('--ae <model>', 'e quality: the AE e was trained on (default: from the run folder or zoo)')
    .option('--images <n>', 'e quality: test images probed', '1000')
    .option('--no-quality', 'skip the e quality section')
    .option('--json', 'print one JSON object')
    .option('-b, --backend <name>', 'backend (default: $INNTROSPECT_BACKEND or wasm)')
    .action(checkCommand);
  program
    .command('reproduce')
    .description('Retrain a shipped pipeline from scratch (AE, classifier with snapshots, one t per layer, e) and rewrite its zoo folder with checksums, configs and metrics.')
    .argument('<pipeline>', "colormnist (the zoo) or fig4 (the paper's Fig. 4: SqueezeNet on 3-factor ColorMNIST, a t per checkpoint)")
    .option('-r, --recipe <name>', 'full (the retraining target), quick (≤ 30 min on 2 cores; says which claims it is expected to miss) or tiny (a smoke run)')
    .option('-p, --preset <name>', 'old name of --recipe: default (= full) or tiny')
    .option('-o, --out <dir>', 'folder to write (default: zoo/colormnist, or fig4-<recipe> for fig4; an existing zoo needs --force)')
    .option('--force', "replace an existing zoo's own files in --out (those its manifest lists; other files are kept)")
    .option('--runs <dir>', 'parent folder of the run folders', 'runs')
    .option('-b, --backend <name>', 'backend (default: $INNTROSPECT_BACKEND, else torch when built, else wasm)')
    .action(reproduceCommand);
  program
    .command('explore')
    .description('Serve the in-browser explorer (representations, attacks, mixing, semantic edits, training dynamics) for a zoo folder or run folders on 127.0.0.1 and print its URL.')
    .argument('[sources...]', 'a zoo folder with manifest.json (default zoo/colormnist), or cinn/iin run folders or folders of them')
    .option('--port <n>', 'port (0 picks a free one)', '8321')
    .option('--host <address>', 'address to bind (not loopback: needs --allow-remote)', '127.0.0.1')
    .option('--allow-remote', 'allow a --host other than loopback (the page and models become readable from the network)')
    .option('--allowed-host <name...>', 'with --allow-remote: host names the page may be opened under (the Host header is checked)')
    .option('--test-images <n>', 'test images served to the page (a zoo: ColorMNIST; run folders: their own data)', '256')
    .option('--no-open', 'do not open a browser (one is opened only when a display is available)')
    .option('--rebuild', 'rebuild the page bundle even if it is up to date')
    .action(exploreCommand);
  registerAnalysisCommands(program);
  program
    .command('report')
    .description("One self-contained HTML report reproducing the paper's Fig. 3, 4, 5, 7 and Table 1, stating with measured numbers whether each claim holds.")
    .argument('[sources...]', 'a zoo folder or cinn run folders (default: zoo/colormnist)')
    .option('-o, --out <file>', 'HTML file to write (numbers go to the same name .json)', 'report/report.html')
    .option('--features <model:layer>', 'feature network of the Fréchet distance', DEFAULT_FEATURES)
    .option('--images <n>', 'test images loaded', '1024')
    .option('--inputs <n>', 'inputs averaged over in the invariance and sensitivity measures', '64')
    .option('-n, --samples <n>', 'samples of v per input', '16')
    .option('--table-images <n>', 'conditioning images of Table 1 (and as many real ones)', '256')
    .option('--seeds <list>', 'sampling seeds of Table 1', '0,1,2')
    .option('--mv-images <n>', 'images inverted by M&V (0: skip M&V)', '32')
    .option('--dnb-steps <n>', 'training steps of the D&B decoder', '1500')
    .option('-e, --epsilon <eps>', 'FGSM ε in [-1, 1] pixel units', '0.1')
    .option('--iin <model>', "a semantic INN e to use instead of the source's")
    .option('--fig4 <dir>', "Fig. 4 from a 'reproduce fig4' result folder (SqueezeNet on 3-factor ColorMNIST) instead of the source's own snapshots")
    .option('-b, --backend <name>', 'backend (default: $INNTROSPECT_BACKEND or wasm)')
    .action(reportCommand);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`inntrospect: error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly || process.env['INNTROSPECT_CLI'] === '1') {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
