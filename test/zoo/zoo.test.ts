// The zoo: `reproduce` on the tiny preset writes a complete, checksummed, float16 zoo; loading
// a file whose checksum does not match is an error; float16 storage stays within tolerance.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, tf } from '../../src/engine/index.ts';
import { reproduceColorMnist } from '../../src/pipeline/reproduce.ts';
import { openZooFolder } from '../../src/pipeline/zoo-source.ts';
import { ZooChecksumError } from '../../src/zoo/manifest.ts';
import { manifestFiles, type ZooManifest } from '../../src/zoo/manifest.ts';
import { readModel } from '../../src/pipeline/model-files.ts';
import { checkInvertibility } from '../../src/flows/invertibility-check.ts';
import { resolveSources } from '../../src/pipeline/pipeline-source.ts';
import { loadAnalysis } from '../../src/pipeline/analysis-loader.ts';
import { virtualZooFromRuns } from '../../src/pipeline/run-sources.ts';
import { invariancePerLayer } from '../../src/analysis/invariances.ts';
import { open } from '../../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'inntrospect-zoo-'));
const out = join(root, 'zoo');
let manifest: ZooManifest;

describe('zoo (tiny reproduction)', () => {
  before(async () => {
    const info = await initEngine();
    manifest = await reproduceColorMnist({ preset: 'tiny', out, runs: join(root, 'runs'), backend: info.backend });
  });

  test('the manifest lists every model with sha256, metrics, commands and configs', async () => {
    assert.equal(manifest.format, 'inntrospect-zoo/1');
    assert.deepEqual(Object.keys(manifest.cinn), ['conv0', 'conv2', 'z', 'logits']);
    assert.equal(manifest.snapshots.length, 4);
    assert.equal(manifest.dynamics.length, 4, 'one t per snapshot');
    assert.equal(manifest.dynamicsLayer, 'conv3');
    assert.ok(manifest.snapshots.every((s, i, all) => i === 0 || s.step > all[i - 1]!.step));
    assert.deepEqual(manifest.iin.factors, ['digit', 'color', 'residual']);
    assert.ok(Number.isFinite(manifest.ae.metrics['psnr']) && Number.isFinite(manifest.classifier.metrics['testAccuracy']));
    assert.ok(manifest.commands.length >= 7 && manifest.configs['ae']);
    const pipeline = openZooFolder(out);
    assert.equal(await pipeline.verifyAll(), manifestFiles(manifest).length);
    pipeline.dispose();
    const onDisk = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ZooManifest;
    assert.equal(onDisk.ae.sha256, manifest.ae.sha256);
  });

  test('float16 storage: zoo models match the trained float32 models within tolerance', async () => {
    const zoo = openZooFolder(out);
    const packed = { kind: 'classifier' as const, model: await zoo.classifier() };
    const run = readdirSync(join(root, 'runs')).find((d) => d === 'zoo-classifier')!;
    const original = readModel(join(root, 'runs', run));
    assert.equal(original.kind, 'classifier');
    const x = tf.randomNormal([4, 32, 32, 3], 0, 0.5, 'float32', 1);
    const a = packed.kind === 'classifier' ? packed.model.logits(x).dataSync() : new Float32Array();
    const b = original.kind === 'classifier' ? original.model.logits(x).dataSync() : new Float32Array();
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      maxRef = Math.max(maxRef, Math.abs(b[i]!));
    }
    assert.ok(maxDiff / maxRef < 1e-2, `logits differ by ${maxDiff / maxRef} relative`);
    const t = await zoo.t('z');
    const report = checkInvertibility(t, { dim: t.dim, conditionShape: t.cfg.conditionShape });
    assert.ok(report.roundTripError < 1e-4, `round trip ${report.roundTripError}`);
    tf.dispose(x);
    zoo.dispose();
    original.model.dispose();
  });

  test('a zoo file whose checksum does not match is an error (library and CLI)', async () => {
    const copy = join(root, 'tampered');
    mkdirSync(join(copy, 'snapshots'), { recursive: true });
    mkdirSync(join(copy, 'dynamics'), { recursive: true });
    for (const e of manifestFiles(manifest)) copyFileSync(join(out, e.file), join(copy, e.file));
    copyFileSync(join(out, 'manifest.json'), join(copy, 'manifest.json'));
    const file = join(copy, manifest.cinn['z']!.file);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"numBlocks":', '"numBlocks": '));
    const zoo = openZooFolder(copy);
    await assert.rejects(zoo.t('z'), (e: Error) => e instanceof ZooChecksumError && /does not match its manifest/.test(e.message));
    await assert.rejects(zoo.verifyAll(), ZooChecksumError);
    zoo.dispose();
    const r = spawnSync(process.execPath, ['bin/inntrospect.js', 'check', file], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not match its manifest/);
    assert.throws(() => readModel(copy), /is a zoo folder; name one of its model files/);
  });

  test('the analysis commands run on the zoo and write their figures and numbers', () => {
    const dir = join(root, 'analysis');
    for (const [args, files] of [
      [['sample', '-l', 'z'], ['samples-z.png', 'samples-z.json']],
      [['dynamics'], ['training-dynamics.json', 'training-dynamics.svg', 'training-dynamics.png', 'training-dynamics-samples.png']],
      [['attack', '--count', '8'], ['attack-fgsm.png', 'attack-fgsm.json']],
    ] as Array<[string[], string[]]>) {
      const out = join(dir, args[0]!);
      const r = spawnSync(process.execPath, ['bin/inntrospect.js', ...args, join(root, 'zoo'), '--images', '32', '--out', out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const numbers = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      assert.ok(typeof numbers === 'object' && numbers !== null);
      for (const f of files) assert.ok(readdirSync(out).includes(f), `${args[0]}: ${f}`);
    }
    const bad = spawnSync(process.execPath, ['bin/inntrospect.js', 'sample', '-l', 'nope', join(root, 'zoo'), '--images', '8', '--out', join(dir, 'bad')], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /nope/);
  });

  test('report: one self-contained HTML file with every figure embedded and each claim judged', () => {
    const snapshot = join(out, manifest.snapshots.at(-1)!.file);
    const html = join(root, 'report', 'report.html');
    const r = spawnSync(process.execPath, ['bin/inntrospect.js', 'report', out, '--out', html, '--features', `${snapshot}:z`,
      '--images', '48', '--inputs', '6', '--samples', '3', '--table-images', '12', '--seeds', '0,1', '--mv-images', '2', '--dnb-steps', '5'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { claims: Record<string, boolean | null> };
    assert.deepEqual(Object.keys(summary.claims).sort(), ['dynamics', 'invariance-depth', 'invertible', 'sampling', 'table1']);
    assert.equal(summary.claims['invertible'], true);
    const text = readFileSync(html, 'utf8');
    for (const heading of ['Fig. 3', 'Fig. 4', 'Fig. 5', 'Fig. 7', 'Table 1', 'Claims']) assert.ok(text.includes(heading), heading);
    assert.ok((text.match(/src="data:image\/png;base64,/g) ?? []).length >= 5, 'PNG figures embedded');
    assert.ok(text.includes('<svg'), 'plots inline');
    assert.ok(!/src="(?!data:)/.test(text), 'no external resources');
    const numbers = JSON.parse(readFileSync(join(root, 'report', 'report.json'), 'utf8'));
    assert.equal(numbers.claims.length, 5);
  });

  test("the README's library example runs from the checkout (on this zoo; the packed package: test/package)", () => {
    const readme = readFileSync('README.md', 'utf8');
    const section = readme.slice(readme.indexOf('## As a library'));
    const code = /```js\n([\s\S]*?)```/.exec(section)![1]!
      .replaceAll("'zoo/colormnist'", `'${out}'`)
      .replaceAll("from 'inntrospect'", `from '${process.cwd()}/src/index.ts'`)
      .replace(/inputs: \d+/, 'inputs: 4');
    const file = join(root, 'readme-example.mts'); // .mts: an ES module outside the package
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(JSON.parse(lines.at(-2)!), [32, 32, 32, 3]);
    assert.equal(JSON.parse(lines.at(-1)!).inputs, 4);
  });

  test('run folders go through the one resolver: the zoo\'s own runs (a parent folder) give its layers, e, dynamics, and open() the loader\'s numbers', async () => {
    const runsDir = join(root, 'runs');
    assert.deepEqual(resolveSources([runsDir]), { kind: 'runs', paths: [runsDir] });
    assert.equal(resolveSources([out]).kind, 'zoo');
    assert.throws(() => resolveSources([out, runsDir]), /is a zoo folder: give it alone/);
    assert.throws(() => resolveSources([join(out, 'ae.json')]), /is not a folder; give a zoo folder/);
    assert.throws(() => resolveSources([join(root, 'nope')]), /'.*nope' does not exist/);
    const loaded = await loadAnalysis([runsDir], { images: 8 });
    const p = await open([runsDir], { images: 8 });
    try {
      assert.deepEqual(loaded.context.layers.map((l) => l.name).sort(), Object.keys(manifest.cinn).sort());
      assert.deepEqual(loaded.context.e?.factorNames, manifest.iin.factors, 'the iin run among them is e');
      assert.equal(loaded.checkpoints.length, manifest.dynamics.length, 'cinn runs on classifier snapshots are the dynamics');
      assert.equal(loaded.manifest, undefined, 'run folders have no zoo provenance');
      // The explorer's in-memory manifest is the one the loader used.
      const virtual = await virtualZooFromRuns([runsDir]);
      assert.deepEqual(Object.keys(virtual.manifest.cinn), loaded.context.layers.map((l) => l.name));
      assert.deepEqual(p.layers, loaded.context.layers.map((l) => l.name));
      const options = { layers: ['z'], inputs: 3, samples: 2 };
      assert.deepEqual(await p.invariance(options), invariancePerLayer(loaded.context, options));
    } finally {
      loaded.dispose();
      p.dispose();
    }
  });

  test('p.report(): the report of the CLI from the library, refusing to replace what is not a report', async () => {
    const p = await open(out, { images: 24 });
    try {
      const features = `${join(out, manifest.snapshots.at(-1)!.file)}:z`;
      const options = { features, inputs: 3, samples: 2, tableImages: 8, tableSeeds: [0], mvImages: 0, dnbSteps: 2, samplingImages: 16, samplingSeeds: 1 };
      const html = join(root, 'api-report', 'report.html');
      const r = await p.report({ out: html, ...options });
      assert.deepEqual(r.claims.map((c) => c.id).sort(), ['dynamics', 'invariance-depth', 'invertible', 'sampling', 'table1']);
      assert.ok(readFileSync(html, 'utf8').includes('Table 1'));
      writeFileSync(join(root, 'api-report', 'model.json'), '{"format":"not a report"}');
      await assert.rejects(p.report({ out: join(root, 'api-report', 'model.html'), ...options }), /model\.json, which exists and is not a report's numbers/);
    } finally {
      p.dispose();
    }
  });
});
