/**
 * The lazy pipeline loader (src/pipeline/open-pipeline.ts) on the shipped zoo: what the CLI's
 * `sample --layer z` loads is read once per file and nothing else is read; a second request
 * for a model reuses it; a file whose bytes do not match the manifest is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from '../../src/engine/index.ts';
import { loadAnalysis } from '../../src/pipeline/analysis-loader.ts';
import { COMMAND_NEEDS } from '../../src/cli/analysis-cli.ts';
import { checkManifest, openPipeline, type PipelineReader } from '../../src/pipeline/open-pipeline.ts';
import { folderReader } from '../../src/pipeline/zoo-source.ts';
import { ZooChecksumError } from '../../src/zoo/manifest.ts';

const ZOO = 'zoo/colormnist';
await initEngine();

test("'sample --layer z' on the zoo reads each file it needs once and loads only t for z", async () => {
  const reads: string[] = [];
  const loaded = await loadAnalysis([ZOO], { images: 4, ...COMMAND_NEEDS.sample({ layer: 'z' }), onRead: (f) => reads.push(f) });
  try {
    assert.deepEqual(reads.sort(), ['ae.json', 'cinn-z.json', 'classifier.json', 'manifest.json']);
    assert.deepEqual(loaded.context.layers.map((l) => l.name), ['z']);
    assert.equal(loaded.context.e, undefined);
    assert.equal(loaded.checkpoints.length, 0);
  } finally {
    loaded.dispose();
  }
});

test('dynamics reads the snapshots and their t but no per-layer t', async () => {
  const reads: string[] = [];
  const loaded = await loadAnalysis([ZOO], { images: 4, ...COMMAND_NEEDS.dynamics(), onRead: (f) => reads.push(f) });
  try {
    assert.equal(new Set(reads).size, reads.length, 'no file read twice');
    assert.ok(!reads.some((f) => /^cinn-/.test(f)), reads.join(', '));
    assert.ok(reads.includes('iin.json'));
    assert.equal(reads.filter((f) => f.startsWith('dynamics/')).length, loaded.checkpoints.length);
  } finally {
    loaded.dispose();
  }
});

test('a model asked for twice is read, checked and parsed once; an unknown layer names the ones there are', async () => {
  const manifest = checkManifest(JSON.parse(readFileSync(join(ZOO, 'manifest.json'), 'utf8')), ZOO);
  const reads: string[] = [];
  const p = openPipeline(manifest, folderReader(ZOO, (f) => reads.push(f)));
  try {
    const [a, b] = await Promise.all([p.t('z'), p.t('z')]);
    assert.equal(a, b);
    assert.equal(await p.t('z'), a);
    assert.deepEqual(reads, ['cinn-z.json']);
    await assert.rejects(p.t('conv9'), /no t for layer 'conv9' \(layers with a t: conv0, conv2, z, logits\)/);
  } finally {
    p.dispose();
  }
});

test('a file that does not match its sha256 is refused, naming the file', async () => {
  const manifest = checkManifest(JSON.parse(readFileSync(join(ZOO, 'manifest.json'), 'utf8')), ZOO);
  const real = folderReader(ZOO);
  const tampered: PipelineReader = {
    ...real,
    read: async (file) => {
      const bytes = await real.read(file);
      bytes[bytes.length - 2] ^= 1;
      return bytes;
    },
  };
  const p = openPipeline(manifest, tampered);
  await assert.rejects(p.autoencoder(), (e: Error) => e instanceof ZooChecksumError && e.message.includes(join(ZOO, 'ae.json')));
  p.dispose();
  assert.throws(() => checkManifest({ format: 'other' }, 'x.json'), /x\.json: unknown zoo format 'other'/);
});
