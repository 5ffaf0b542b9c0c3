/**
 * The `inntrospect` command line. Commands print; the library they call never does.
 */
import { Command, CommanderError } from 'commander';
import { engineCommand } from './engine-command.ts';
import { layersCommand, zooModelIds } from './layers-command.ts';

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
    .description(`List a model's layers with output shapes and whether each is a clean cut for a greybox split. MODEL: a folder with a TensorFlow.js Layers model.json, or a zoo model (${zooModelIds().join(', ')}).`)
    .argument('<model>', 'model folder, model.json, or zoo model id')
    .option('-b, --backend <name>', 'backend (default: $INNTROSPECT_BACKEND or wasm)')
    .option('--cuts', 'list only the clean cut points')
    .option('--json', 'print one JSON object')
    .action(layersCommand);
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
