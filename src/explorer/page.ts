/**
 * The explorer page: a shell around the five modes. It starts the worker (which owns
 * TensorFlow.js and the models), shows which models loaded (and why one did not), the test
 * images to pick from, uploads (decoded, cropped and resized to the test images' size here, never sent to the
 * server), and the mode tabs.
 */
import { WorkerClient } from './client.ts';
import type { Images, InitResult } from './protocol.ts';
import { attacksMode, dynamicsMode, editsMode, mixingMode, representationsMode, type App, type Mode, type Selected } from './modes.ts';
import { el, imageCanvas } from './render.ts';

/** What the end-to-end tests read (and a console user can inspect). */
interface ExplorerHooks {
  ready: boolean;
  fatal: string | null;
  init: InitResult | null;
  /** Completed requests per mode. */
  done: Record<string, number>;
  /** Round-trip time of each completed request per mode, ms. */
  timings: Record<string, number[]>;
  last: Record<string, unknown>;
}

declare global {
  interface Window { explorer: ExplorerHooks }
}

const hooks: ExplorerHooks = { ready: false, fatal: null, init: null, done: {}, timings: {}, last: {} };
window.explorer = hooks;

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const UPLOAD_TYPES = new Set(['image/png', 'image/jpeg']);
const GALLERY = 64;

const root = document.getElementById('app')!;
const statusLine = el('div', { class: 'status busy', id: 'status', 'data-testid': 'status' }, 'starting the worker…');
root.append(statusLine);

function showFatal(message: string): void {
  hooks.fatal = message;
  statusLine.className = 'status error';
  statusLine.textContent = message;
}

/**
 * Pixels of an uploaded file: decoded by the browser, centre-cropped to the test images' aspect,
 * resized to their height × width, in [-1, 1]; grey (luma) when they have one channel.
 */
async function decodeUpload(file: File, [height, width, channels]: [number, number, number]): Promise<Float32Array> {
  if (!UPLOAD_TYPES.has(file.type)) throw new Error(`${file.name}: only PNG and JPEG images are accepted (got '${file.type || 'unknown type'}')`);
  if (file.size > MAX_UPLOAD_BYTES) throw new Error(`${file.name}: ${(file.size / 1048576).toFixed(1)} MB is more than the ${MAX_UPLOAD_BYTES / 1048576} MB limit`);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name}: the browser could not decode this image`);
  }
  // The largest centred crop with the target's aspect ratio (a square for square test images).
  const scale = Math.min(bitmap.width / width, bitmap.height / height);
  const cropW = width * scale;
  const cropH = height * scale;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, (bitmap.width - cropW) / 2, (bitmap.height - cropH) / 2, cropW, cropH, 0, 0, width, height);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const out = new Float32Array(width * height * channels);
  const unit = (v: number) => (v / 255) * 2 - 1;
  for (let p = 0; p < width * height; p++) {
    if (channels === 1) out[p] = unit(0.299 * rgba[4 * p]! + 0.587 * rgba[4 * p + 1]! + 0.114 * rgba[4 * p + 2]!);
    else for (let k = 0; k < 3; k++) out[3 * p + k] = unit(rgba[4 * p + k]!);
  }
  return out;
}

function testImage(init: InitResult, index: number): Selected {
  const ts = init.testSet!;
  const [, h, w, c] = ts.images.shape;
  const size = h * w * c;
  const preview: Images = { data: ts.images.data.slice(index * size, (index + 1) * size), shape: [1, h, w, c] };
  return { ref: { test: index }, name: `test #${index} (label ${init.classNames[ts.labels[index]!] ?? ts.labels[index]})`, preview };
}

function modelList(init: InitResult): HTMLElement {
  const failed = init.models.filter((m) => !m.ok);
  const list = el('ul', { class: 'models' });
  for (const m of init.models) {
    if (m.absent) list.append(el('li', { class: 'absent' }, `– ${m.role}: not in these sources${m.note ? ` (${m.note})` : ''}`));
    else list.append(el('li', { class: m.ok ? 'ok' : 'failed' }, `${m.ok ? '✓' : '✗'} ${m.role} — ${m.file}${m.ok ? ` (${m.millis} ms)` : `: ${m.error}`}${m.note ? ` — note: ${m.note}` : ''}`));
  }
  const box = el('details', { class: failed.length > 0 ? 'model-list has-errors' : 'model-list', 'data-testid': 'models' }, el('summary', {}, failed.length > 0 ? `${failed.length} model file(s) failed to load — details` : `${init.models.filter((m) => !m.absent).length} model files loaded and verified against manifest.json`), list);
  if (failed.length > 0) box.open = true;
  return box;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const backend = params.get('backend') ?? 'wasm';
  const fusionParam = params.get('fusion');
  const fusion = fusionParam === 'unfused' || fusionParam === 'fused' ? fusionParam : undefined;
  const worker = new Worker('/worker.js', { type: 'module', name: 'inntrospect-explorer' });
  let app: App | null = null;
  const client = new WorkerClient(worker, (text) => {
    if (!hooks.ready) statusLine.textContent = text;
    else if (app?.busy) app.busy.textContent = `computing… (${text})`;
  });
  const init = await client.request({ type: 'init', backend, ...(fusion ? { fusion } : {}) });
  hooks.init = init;
  if (init.fatal || !init.testSet) {
    showFatal(init.fatal ?? 'no test images');
    return;
  }
  document.title = `inntrospect explorer · ${init.title}`;
  statusLine.className = 'status done';
  statusLine.textContent = `${init.title}: ${init.description}. Backend ${init.backend}${init.simd ? ' (SIMD)' : ''}; model ${init.modelName || '(not loaded)'}${init.modelInput ? ` (input ${init.modelInput})` : ''}; layers with a t: ${init.layers.join(', ') || 'none'}.`;
  // Another tfjs backend (webgl where the browser has it) restarts the page with ?backend=.
  const choices = init.backends.filter((b) => ['wasm', 'webgl', 'webgpu', 'cpu'].includes(b));
  if (choices.length > 1) {
    const picker = el('select', { 'data-testid': 'backend', title: 'TensorFlow.js backend (reloads the page)' });
    for (const b of choices) picker.append(el('option', { value: b }, b));
    picker.value = init.backend.split(' ')[0]!;
    picker.addEventListener('change', () => {
      const next = new URL(location.href);
      next.searchParams.set('backend', picker.value);
      location.href = next.toString();
    });
    statusLine.append(' ', el('label', {}, 'backend ', picker));
  }
  let models = modelList(init);
  root.append(models);
  const errors = init.models.filter((m) => !m.ok);
  if (errors.length > 0) {
    root.append(el('div', { class: 'banner error', 'data-testid': 'load-errors', role: 'alert' }, `Some models failed to load; the modes that need them say so. ${errors.map((m) => (m.error?.startsWith(m.file) ? m.error : `${m.file}: ${m.error}`)).join(' · ')}`));
  }

  let a = testImage(init, 0);
  let b = testImage(init, 1);
  let target: 'a' | 'b' = 'a';
  const modes: Mode[] = [];
  let active: Mode | null = null;

  // Image chooser: A and B previews, which one a click sets, the gallery and the upload.
  const previewA = el('div', { class: 'preview', 'data-testid': 'image-a' });
  const previewB = el('div', { class: 'preview', 'data-testid': 'image-b' });
  const drawPreviews = () => {
    previewA.replaceChildren(el('strong', {}, 'A'), imageCanvas(a.preview, 0), el('span', {}, a.name));
    previewB.replaceChildren(el('strong', {}, 'B'), imageCanvas(b.preview, 0), el('span', {}, b.name));
    previewA.classList.toggle('target', target === 'a');
    previewB.classList.toggle('target', target === 'b');
  };
  const choose = (s: Selected) => {
    if (target === 'a') a = s;
    else b = s;
    drawPreviews();
    active?.refresh();
  };
  previewA.addEventListener('click', () => { target = 'a'; drawPreviews(); });
  previewB.addEventListener('click', () => { target = 'b'; drawPreviews(); });
  const gallery = el('div', { class: 'gallery', 'data-testid': 'gallery' });
  const count = Math.min(GALLERY, init.testSet.images.shape[0]);
  for (let i = 0; i < count; i++) {
    const thumb = el('button', { type: 'button', class: 'thumb', title: testImage(init, i).name, 'data-index': String(i), 'data-testid': `thumb-${i}` }, imageCanvas(init.testSet.images, i));
    thumb.addEventListener('click', () => choose(testImage(init, i)));
    gallery.append(thumb);
  }
  const upload = el('input', { type: 'file', accept: 'image/png,image/jpeg', 'data-testid': 'upload' });
  const uploadStatus = el('span', { class: 'upload-status', 'data-testid': 'upload-status' });
  upload.addEventListener('change', () => {
    const file = upload.files?.[0];
    if (!file) return;
    const [, h, w, c] = init.testSet!.images.shape;
    decodeUpload(file, [h, w, c]).then((pixels) => {
      uploadStatus.className = 'upload-status';
      uploadStatus.textContent = `${file.name} → ${h}×${w}${c === 1 ? ' grey' : ''}`;
      choose({ ref: { pixels, name: file.name }, name: `upload: ${file.name}`, preview: { data: pixels, shape: [1, h, w, c] } });
    }, (error: unknown) => {
      uploadStatus.className = 'upload-status error';
      uploadStatus.textContent = error instanceof Error ? error.message : String(error);
    });
  });
  root.append(el('div', { class: 'chooser' },
    el('div', { class: 'previews' }, previewA, previewB, el('p', { class: 'hint' }, 'Click A or B, then an image below (or upload one) to set it.')),
    el('div', {}, gallery, el('div', { class: 'upload' }, el('label', {}, 'Upload a PNG/JPEG (stays in this page): ', upload), uploadStatus), el('p', { class: 'hint' }, init.testSet.description))));
  drawPreviews();

  app = {
    client, init, a: () => a, b: () => b, busy: null,
    record(mode, result, millis) {
      hooks.done[mode] = (hooks.done[mode] ?? 0) + 1;
      (hooks.timings[mode] ??= []).push(millis);
      hooks.last[mode] = result;
    },
    modelsChanged() {
      void client.request({ type: 'models' }).then((statuses) => {
        const next = modelList({ ...init, models: statuses });
        models.replaceWith(next);
        models = next;
      });
    },
  };
  modes.push(representationsMode(app), attacksMode(app), mixingMode(app), editsMode(app), dynamicsMode(app));
  const tabs = el('nav', { class: 'tabs', role: 'tablist' });
  const panels = el('main', {});
  const activate = (m: Mode) => {
    active = m;
    for (const t of Array.from(tabs.querySelectorAll('button'))) t.classList.toggle('active', t.getAttribute('data-mode') === m.id);
    for (const x of modes) x.panel.hidden = x !== m;
    history.replaceState(null, '', `#${m.id}`);
    m.refresh();
  };
  for (const m of modes) {
    const tab = el('button', { type: 'button', role: 'tab', 'data-mode': m.id, 'data-testid': `tab-${m.id}` }, m.title);
    tab.addEventListener('click', () => activate(m));
    tabs.append(tab);
    m.panel.hidden = true;
    panels.append(m.panel);
  }
  root.append(tabs, panels);
  hooks.ready = true;
  activate(modes.find((m) => `#${m.id}` === location.hash) ?? modes[0]!);
}

main().catch((error: unknown) => showFatal(`The explorer failed to start: ${error instanceof Error ? error.message : String(error)}`));
