// A corpus of bad inputs — options, configs, files, models, paths, run folders, output folders —
// each run through the CLI's main() in this process (the exit code bin/inntrospect.js exits
// with). Every case must fail with a non-zero code, a one-line message naming the culprit (the
// key, the value, the file or the entry) and no stack trace, and leave every file under the
// fixtures folder exactly as it was (checksums of the whole folder before and after).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, lstatSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { initEngine } from '../../src/engine/index.ts';
import { main } from '../../src/cli/main.ts';
import { tempRoot, tinyConfig, trainReference } from './resume-harness.ts';
import { writeGraphModel, writeLayersModel } from '../byom/fixtures.ts';
import { virtualZooFromRuns } from '../../src/pipeline/run-sources.ts';

const root = tempRoot('inntrospect-bad-inputs-');
const runs = join(root, 'runs');
const f = (...p: string[]) => join(root, ...p);

/** sha256 of every entry under `dir` (FIFOs and other non-files by their kind). */
function checksums(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const st = lstatSync(path);
      if (st.isDirectory()) walk(path);
      else out.set(relative(dir, path), st.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : `special:${st.mode}`);
    }
  };
  walk(dir);
  return out;
}

async function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  const writeOut = process.stdout.write.bind(process.stdout);
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.exitCode = undefined;
  try {
    const code = await main(args);
    return { code, stderr };
  } finally {
    process.stderr.write = write;
    process.stdout.write = writeOut;
    process.exitCode = undefined;
  }
}

interface Case { name: string; args: () => string[]; expect: RegExp }

let aeRun = '';
let clfRun = '';
const ae = () => join(aeRun, 'model.json');
const clf = () => join(clfRun, 'model.json');
const tinyData = ['--data.limit=32', '--data.evalImages=8'];

const CASES: Case[] = [
  // Numbers of the config: integer, range, finite.
  { name: 'negative steps', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.steps=-5'], expect: /config key 'train\.steps': must be an integer from 1 to 10000000, got -5/ },
  { name: 'huge steps', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.steps=1e99'], expect: /config key 'train\.steps': must be an integer from 1 to 10000000, got 1e\+99/ },
  { name: 'fractional steps', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.steps=2.5'], expect: /config key 'train\.steps': must be an integer .*got 2\.5/ },
  { name: 'image size 0', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data.size=0'], expect: /config key 'data\.size': must be an integer from 4 to 4096, got 0/ },
  { name: 'batch size 0', args: () => ['train', 'classifier', '--preset', 'tiny', '--runs', runs, '--train.batchSize=0'], expect: /config key 'train\.batchSize': must be an integer from 1 to 65536, got 0/ },
  { name: 'negative learning rate', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.learningRate=-1'], expect: /config key 'train\.learningRate': must be a finite number > 0 and ≤ 1000, got -1/ },
  { name: 'learning rate not a number', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.learningRate=fast'], expect: /config key 'train\.learningRate': expected a number, got 'fast'/ },
  { name: 'infinite learning rate', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.learningRate=Infinity'], expect: /config key 'train\.learningRate': expected a number, got 'Infinity'/ },
  { name: 'beta1 = 1', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.beta1=1'], expect: /config key 'train\.beta1': must be a finite number ≥ 0 and < 1, got 1/ },
  { name: 'negative data limit', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data.limit=-3'], expect: /config key 'data\.limit': must be an integer .*got -3/ },
  { name: 'zDim 0', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--model.zDim=0'], expect: /config key 'model\.zDim': must be an integer from 1 to 65536, got 0/ },
  { name: 'channel list with a 0', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--model.channels=[8,0,16,32]'], expect: /config key 'model\.channels\[1\]': must be an integer .*got 0/ },
  { name: 'negative seed', args: () => ['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--train.seed=-1'], expect: /config key 'train\.seed': must be an integer from 0 to 2147483647, got -1/ },
  { name: 'cinn blocks 0', args: () => ['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--cinn.numBlocks=0'], expect: /config key 'cinn\.numBlocks': must be an integer from 1 to 1000, got 0/ },
  { name: 'iin rho 1', args: () => ['train', 'iin', '--preset', 'tiny', '--runs', runs, '--iin.rho=1'], expect: /config key 'iin\.rho': must be a finite number ≥ 0 and < 1, got 1/ },
  // Keys: unknown, moved, wrong type.
  { name: 'unknown key', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.stepz=3'], expect: /config key 'train\.stepz': unknown key; valid keys here: train\.steps/ },
  { name: 'old cinn spelling --steps', args: () => ['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--steps=5'], expect: /config key 'steps' is now 'train\.steps' \(on the command line: --train\.steps=…\)/ },
  { name: 'old iin spelling --learningRate', args: () => ['train', 'iin', '--preset', 'tiny', '--runs', runs, '--learningRate=1e-3'], expect: /config key 'learningRate' is now 'train\.learningRate'/ },
  { name: 'old spelling in a config file', args: () => ['train', 'cinn', '--runs', runs, '--config', f('old-cinn.json')], expect: /config key 'batchSize' is now 'train\.batchSize'/ },
  { name: 'wrong type in a config file', args: () => ['train', 'ae', '--runs', runs, '--config', f('wrong-type.json')], expect: /config key 'train\.steps': expected number, got string \("many"\)/ },
  { name: 'config file not JSON', args: () => ['train', 'ae', '--runs', runs, '--config', f('broken.json')], expect: /config file .*broken\.json is not valid JSON/ },
  { name: 'config file missing', args: () => ['train', 'ae', '--runs', runs, '--config', f('nope.json')], expect: /config file .*nope\.json cannot be read/ },
  { name: 'a section set to a value', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train=3'], expect: /config key 'train': is a section; set one of its keys/ },
  // Options of the commands.
  { name: 'checkpoint interval negative', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--checkpoint-every', '-1'], expect: /--checkpoint-every must be an integer from 0 to 10000000, got '-1'/ },
  { name: 'checkpoint interval fractional', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--checkpoint-every', '1.5'], expect: /--checkpoint-every must be an integer .*got '1\.5'/ },
  { name: 'unknown preset', args: () => ['train', 'ae', '--preset', 'huge', '--runs', runs], expect: /--preset must be tiny or default, got 'huge'/ },
  { name: 'unknown model kind', args: () => ['train', 'gan', '--runs', runs], expect: /unknown model kind 'gan'; one of: ae, classifier, cinn, iin/ },
  { name: 'stray argument', args: () => ['train', 'ae', '--runs', runs, 'steps=3'], expect: /unexpected argument 'steps=3'/ },
  // Data.
  { name: 'unknown dataset', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data.dataset=imagenet'], expect: /unknown data\.dataset 'imagenet'; one of: colormnist/ },
  { name: 'image folder missing', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data', f('no-such-folder')], expect: /image folder .*no-such-folder: does not exist/ },
  { name: 'a FIFO in the image folder', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data', f('images')], expect: /image folder .*images: .*stuck\.png is a FIFO \(named pipe\), not an image file/ },
  { name: 'data folder that is a file', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data', f('broken.json')], expect: /image folder .*broken\.json: is not a folder/ },
  { name: 'data folder without images', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data', f('users-folder')], expect: /image folder .*users-folder: no images found/ },
  { name: 'pair file naming a path outside the folder', args: () => ['train', 'iin', '--preset', 'tiny', '--runs', runs, '--ae', ae(), '--data', f('images-ok'), '--pairs', f('pairs-escape.json')], expect: /pairs-escape\.json: .*'\.\.\/secret\.bin' is not an image of the folder/ },
  { name: 'pair file not JSON', args: () => ['train', 'iin', '--preset', 'tiny', '--runs', runs, '--ae', ae(), '--data', f('images-ok'), '--pairs', f('broken.json')], expect: /--pairs .*broken\.json: cannot read it as JSON/ },
  { name: 'discriminator lrFactor negative', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.discriminator.lrFactor=-1'], expect: /config key 'train\.discriminator\.lrFactor': must be a finite number from 0 to 1000, got -1/ },
  { name: 'too many eval images', args: () => ['train', 'ae', '--preset', 'tiny', '--runs', runs, '--data.evalImages=2000000'], expect: /config key 'data\.evalImages': must be an integer from 0 to 1000000, got 2000000/ },
  // Models and model folders.
  { name: 'weightsManifest not a list', args: () => ['layers', f('manifest-not-list')], expect: /manifest-not-list.*'weightsManifest' must be a list of \{paths, weights\} groups/ },
  { name: 'weight shard path not a string', args: () => ['layers', f('shard-number')], expect: /weightsManifest\[0\]\.paths\[0\] must be a file name relative to .*, got 7/ },
  { name: 'an AE that is a classifier', args: () => ['train', 'cinn', '--preset', 'tiny', '--runs', runs, ...tinyData, '--ae', clf(), '--model', clf(), '--layer', 'z'], expect: /is a classifier.*autoencoder|expected an? autoencoder/ },
  { name: 'unknown layer', args: () => ['train', 'cinn', '--preset', 'tiny', '--runs', runs, ...tinyData, '--ae', ae(), '--model', clf(), '--layer', 'nope'], expect: /unknown layer 'nope'.*conv2/ },
  { name: 'weight shard path with ..', args: () => ['layers', f('escape-dotdot')], expect: /escape-dotdot.*model\.json: weightsManifest\[0\]\.paths\[0\] '\.\.\/secret\.bin' leaves the folder/ },
  { name: 'weight shard absolute path', args: () => ['layers', f('escape-absolute')], expect: /weightsManifest\[0\]\.paths\[0\] '\/.*secret\.bin' is an absolute path/ },
  { name: 'weight shard link out of the folder', args: () => ['layers', f('escape-link')], expect: /weightsManifest\[0\]\.paths\[0\] 'group1-shard1of1\.bin' is a link that leads out of the folder/ },
  { name: 'graph shard path with ..', args: () => ['layers', f('graph-escape')], expect: /graph-escape.*weightsManifest\[0\]\.paths\[0\] '\.\.\/secret\.bin' leaves the folder/ },
  { name: 'graph node with a dangling input', args: () => ['layers', f('graph-dangling')], expect: /graph-dangling.*node 'relu' takes input "ghost", which is no node of the graph/ },
  { name: 'model.json not JSON', args: () => ['layers', f('model-broken')], expect: /model-broken.*(not valid JSON|model\.json)/ },
  // Zoo folders.
  { name: 'zoo manifest not JSON', args: () => ['sample', f('zoo-broken'), '--layer', 'z'], expect: /zoo manifest .*zoo-broken\/manifest\.json is not valid JSON/ },
  { name: 'zoo entry leaving the folder', args: () => ['sample', f('zoo-escape'), '--layer', 'z'], expect: /zoo-escape\/manifest\.json: the entry for '\.\.\/secret\.bin' '\.\.\/secret\.bin' leaves the folder/ },
  // Analyses: options checked before anything loads.
  { name: 'sample with 0 inputs', args: () => ['sample', f('zoo-broken'), '--layer', 'z', '--count', '0'], expect: /--count must be an integer from 1 to 1000000000, got '0'/ },
  { name: 'attack of an unknown kind', args: () => ['attack', f('zoo-broken'), '--kind', 'deepfool'], expect: /--kind must be fgsm or pgd, got 'deepfool'/ },
  { name: 'attack with a non-numeric epsilon', args: () => ['attack', f('zoo-broken'), '--epsilon', 'big'], expect: /--epsilon must be a number, got 'big'/ },
  { name: 'invariance with a negative seed', args: () => ['invariance', f('zoo-broken'), '--seed', '-1'], expect: /--seed must be an integer from 0 to 2147483647, got '-1'/ },
  { name: 'check with 0 samples', args: () => ['check', ae(), '--samples', '0'], expect: /--samples must be an integer from 1 to 10000, got '0'/ },
  { name: 'check of a model that is not invertible', args: () => ['check', ae()], expect: /is an autoencoder; check works on invertible models/ },
  // Resume.
  { name: 'resume changing an architecture key', args: () => ['train', 'ae', '--resume', aeRun, '--model.zDim=8'], expect: /config key 'model\.zDim': cannot change on --resume: the checkpoint was trained with 16/ },
  { name: 'resume changing the data', args: () => ['train', 'ae', '--resume', aeRun, '--data.dataset=mnist'], expect: /config key 'data\.dataset': cannot change on --resume/ },
  { name: 'resume with a config file', args: () => ['train', 'ae', '--resume', aeRun, '--config', f('wrong-type.json')], expect: /--resume continues a run with its saved config; drop --config/ },
  { name: 'resume with fewer steps than the checkpoint', args: () => ['train', 'ae', '--resume', aeRun, '--train.steps=1'], expect: /checkpoint .*step-00000002\.json is at step 2, outside this run's 0…1 steps/ },
  { name: 'resume with a bad number', args: () => ['train', 'ae', '--resume', aeRun, '--train.steps=0'], expect: /config key 'train\.steps': must be an integer from 1/ },
  { name: 'resume of a folder that is no run', args: () => ['train', 'ae', '--resume', f('images')], expect: /images is not a run folder \(no config\.json\)/ },
  { name: 'resume of a run whose config is broken', args: () => ['train', 'ae', '--resume', f('broken-run')], expect: /broken-run\/config\.json is not valid JSON/ },
  { name: 'resume of a run of another kind', args: () => ['train', 'classifier', '--resume', aeRun], expect: /ae-reference is not a 'classifier' run: its config.json does not fit one \(config key 'model': unknown key/ },
  { name: 'resume of a run whose history is broken', args: () => ['train', 'ae', '--resume', f('broken-history')], expect: /broken-history\/history\.jsonl line 1 is not valid JSON/ },
  // Output folders and files.
  { name: 'report onto a foreign HTML page', args: () => ['report', '-o', f('users-page.html')], expect: /users-page\.html exists and is not an inntrospect report; choose another -o/ },
  { name: 'reproduce with an unknown preset', args: () => ['reproduce', 'colormnist', '--preset', 'huge', '--out', f('new-zoo')], expect: /--preset \(the old name of --recipe\) must be default \(= full\), quick or tiny, got 'huge'/ },
  { name: 'reproduce into a non-empty folder', args: () => ['reproduce', 'colormnist', '--preset', 'tiny', '--out', f('users-folder'), '--runs', runs], expect: /--out .*users-folder is not empty \(1 file, e\.g\. thesis\.tex\); nothing was written\. It was not written by inntrospect/ },
  { name: 'reproduce --force over foreign files', args: () => ['reproduce', 'colormnist', '--preset', 'tiny', '--out', f('users-folder'), '--runs', runs, '--force'], expect: /holds files inntrospect did not write \(e\.g\. thesis\.tex\); --force replaces only inntrospect's own output/ },
  { name: 'reproduce --out a file', args: () => ['reproduce', 'colormnist', '--out', f('broken.json'), '--runs', runs], expect: /--out .*broken\.json is a file, not a folder/ },
  { name: 'reproduce an unknown pipeline', args: () => ['reproduce', 'imagenet'], expect: /unknown pipeline 'imagenet'; reproducible: colormnist/ },
  { name: 'report numbers onto a model file', args: () => ['report', aeRun, '-o', join(aeRun, 'model.html')], expect: /writes its numbers to .*model\.json, which exists and is not a report's numbers \(a model\?\)/ },
  { name: 'report to a non-HTML name', args: () => ['report', '-o', f('report.txt')], expect: /-o .*report\.txt must name an \.html file/ },
  { name: 'report --images not a number', args: () => ['report', '-o', f('out', 'r.html'), '--images', 'many'], expect: /--images must be an integer from 8 to 1000000, got 'many'/ },
  // The explorer's server.
  { name: 'explore on every interface without --allow-remote', args: () => ['explore', '--host', '0.0.0.0', '--no-open'], expect: /--host 0\.0\.0\.0 would serve the explorer .*every network interface; add --allow-remote/ },
  { name: 'explore on a bad port', args: () => ['explore', '--port', '99999', '--no-open'], expect: /--port must be an integer 0…65535/ },
  { name: 'explore with 1 test image', args: () => ['explore', '--test-images', '1', '--no-open'], expect: /--test-images must be an integer 2…10000, got '1'/ },
];

describe(`${CASES.length} bad inputs: a clear message naming the culprit, a non-zero exit, no file changed`, () => {
  before(async () => {
    await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] });
    aeRun = (await trainReference('ae', tinyConfig('ae', [...tinyData, '--train.steps=2', '--train.batchSize=8']), root)).path;
    clfRun = (await trainReference('classifier', tinyConfig('classifier', [...tinyData, '--train.steps=2', '--train.batchSize=8']), root)).path;
    mkdirSync(runs);
    writeFileSync(f('old-cinn.json'), JSON.stringify({ batchSize: 8 }));
    writeFileSync(f('wrong-type.json'), JSON.stringify({ train: { steps: 'many' } }));
    writeFileSync(f('broken.json'), '{"train": ');
    writeFileSync(f('secret.bin'), 'secret bytes outside every model folder');
    mkdirSync(f('images', 'digits'), { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toFile(f('images', 'digits', 'a.png'));
    execFileSync('mkfifo', [f('images', 'digits', 'stuck.png')]);
    for (const name of ['escape-dotdot', 'escape-absolute', 'escape-link']) await writeLayersModel(f(name));
    const setPath = (dir: string, path: string) => {
      const json = JSON.parse(readFileSync(f(dir, 'model.json'), 'utf8'));
      json.weightsManifest[0].paths[0] = path;
      writeFileSync(f(dir, 'model.json'), JSON.stringify(json));
    };
    setPath('escape-dotdot', '../secret.bin');
    setPath('escape-absolute', f('secret.bin'));
    execFileSync('rm', [f('escape-link', 'group1-shard1of1.bin')]);
    execFileSync('ln', ['-s', f('secret.bin'), f('escape-link', 'group1-shard1of1.bin')]);
    writeGraphModel(f('graph-escape'));
    setPath('graph-escape', '../secret.bin');
    writeGraphModel(f('graph-dangling'));
    const graph = JSON.parse(readFileSync(f('graph-dangling', 'model.json'), 'utf8'));
    graph.modelTopology.node.find((n: { name: string }) => n.name === 'relu').input = ['ghost'];
    writeFileSync(f('graph-dangling', 'model.json'), JSON.stringify(graph));
    mkdirSync(f('model-broken'));
    writeFileSync(f('model-broken', 'model.json'), '{"modelTopology": {');
    mkdirSync(f('zoo-broken'));
    writeFileSync(f('zoo-broken', 'manifest.json'), 'not json at all');
    mkdirSync(f('zoo-escape'));
    const entry = { file: '../secret.bin', sha256: '0'.repeat(64), bytes: 1, kind: 'autoencoder', metrics: {} };
    writeFileSync(f('zoo-escape', 'manifest.json'), JSON.stringify({ format: 'inntrospect-zoo/1', name: 'x', ae: entry, classifier: { ...entry, kind: 'classifier', layers: ['z'] }, snapshots: [], dynamics: [], cinn: {}, iin: null, commands: [], configs: {} }));
    mkdirSync(f('broken-run', 'checkpoints'), { recursive: true });
    writeFileSync(f('broken-run', 'config.json'), '{"train": {"steps": 4');
    mkdirSync(f('users-folder'));
    writeFileSync(f('users-folder', 'thesis.tex'), '\\documentclass{article}');
    copyFileSync(f('broken.json'), f('broken-copy.json'));
    mkdirSync(f('images-ok', 'grey'), { recursive: true });
    mkdirSync(f('images-ok', 'white'));
    for (const [dir, colour] of [['grey', '#808080'], ['white', '#ffffff']] as const) {
      for (const n of [1, 2]) await sharp({ create: { width: 8, height: 8, channels: 3, background: colour } }).png().toFile(f('images-ok', dir, `${n}.png`));
    }
    writeFileSync(f('pairs-escape.json'), JSON.stringify({ pairs: [{ a: 'grey/1.png', b: '../secret.bin', factor: 'shade' }] }));
    for (const name of ['manifest-not-list', 'shard-number']) await writeLayersModel(f(name));
    const m1 = JSON.parse(readFileSync(f('manifest-not-list', 'model.json'), 'utf8'));
    m1.weightsManifest = { paths: ['group1-shard1of1.bin'] };
    writeFileSync(f('manifest-not-list', 'model.json'), JSON.stringify(m1));
    setPath('shard-number', 7 as unknown as string);
    mkdirSync(f('broken-history', 'checkpoints'), { recursive: true });
    copyFileSync(join(aeRun, 'config.json'), f('broken-history', 'config.json'));
    writeFileSync(f('broken-history', 'history.jsonl'), 'garbage\n');
    writeFileSync(f('users-page.html'), '<html><body>my own page</body></html>');
  });

  test(`the corpus has at least 40 cases (${CASES.length})`, () => assert.ok(CASES.length >= 40));
  for (const c of CASES) {
    test(c.name, async () => {
      const before = checksums(root);
      const { code, stderr } = await runCli(c.args());
      const after = checksums(root);
      assert.notEqual(code, 0, `${c.name}: exit code 0\n${stderr}`);
      assert.match(stderr, c.expect, `${c.name}: ${stderr}`);
      assert.doesNotMatch(stderr, /\n\s+at .*\(.*:\d+:\d+\)/, `${c.name}: a stack trace\n${stderr}`);
      assert.deepEqual([...after.entries()], [...before.entries()], `${c.name}: files under ${root} changed`);
    });
  }

  test('explore on a cinn run trained with --ae <model file> serves that file as the AE', async () => {
    mkdirSync(f('models'));
    copyFileSync(ae(), f('models', 'my-ae.json'));
    const config = tinyConfig('cinn', [...tinyData, '--train.steps=2', '--train.batchSize=8', `--ae=${f('models', 'my-ae.json')}`, `--model=${clfRun}`, '--layer=z']);
    const cinn = await trainReference('cinn', config, root);
    const zoo = await virtualZooFromRuns([cinn.path]);
    assert.equal(zoo.files.get('ae.json'), f('models', 'my-ae.json'));
  });

  // Last, since it continues the AE run the resume cases above leave alone.
  test('a resume that changes a training key records it in history.jsonl and leaves config.json as it was', async () => {
    const config = readFileSync(join(aeRun, 'config.json'), 'utf8');
    const { code, stderr } = await runCli(['train', 'ae', '--resume', aeRun, '--train.steps=3']);
    assert.equal(code, 0, stderr);
    assert.equal(readFileSync(join(aeRun, 'config.json'), 'utf8'), config, 'config.json is never rewritten');
    const history = readFileSync(join(aeRun, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(history.length, 1);
    assert.equal(history[0].resumedAtStep, 2);
    assert.deepEqual(history[0].changes, [{ key: 'train.steps', from: 2, to: 3 }]);
    const steps = readFileSync(join(aeRun, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => 'loss' in r).map((r) => r.step);
    assert.deepEqual(steps, [1, 2, 3]);
    // The next resume starts from the history's config: steps 3 is now the run's own.
    const again = await runCli(['train', 'ae', '--resume', aeRun, '--model.zDim=4']);
    assert.match(again.stderr, /config key 'model\.zDim': cannot change on --resume/);
  });
});
