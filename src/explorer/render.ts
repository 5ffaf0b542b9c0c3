/**
 * Drawing for the explorer page: images to canvases (pixelated, [-1, 1] → 0…255), a heat map
 * for variance maps, SVG line charts and probability bars. DOM only, no tfjs.
 */
import { heatColor } from '../figures/tiles.ts';
import type { Images, Prediction } from './protocol.ts';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function toByte(v: number, lo: number, hi: number): number {
  return Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
}

/** A canvas with image `index` of `images` (values in `range`). */
export function imageCanvas(images: Images, index: number, range: [number, number] = [-1, 1]): HTMLCanvasElement {
  const [, h, w, c] = images.shape;
  const canvas = el('canvas', { width: String(w), height: String(h), class: 'img' });
  const ctx = canvas.getContext('2d')!;
  const out = ctx.createImageData(w, h);
  const base = index * h * w * c;
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) out.data[4 * p + k] = toByte(images.data[base + p * c + (c === 1 ? 0 : k)]!, range[0], range[1]);
    out.data[4 * p + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
  return canvas;
}

/** A canvas with a [h·w] map drawn on the heat ramp, 0 … max: the figures' colour map (src/figures/tiles.ts), so the page and the PNGs agree. */
export function heatCanvas(values: Float32Array, [h, w]: [number, number], max: number): HTMLCanvasElement {
  const canvas = el('canvas', { width: String(w), height: String(h), class: 'img' });
  const ctx = canvas.getContext('2d')!;
  const out = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = heatColor(max > 0 ? values[p]! / max : 0);
    out.data[4 * p] = r;
    out.data[4 * p + 1] = g;
    out.data[4 * p + 2] = b;
    out.data[4 * p + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
  return canvas;
}

/** An image (or any node) with a caption under it. */
export function figure(content: Node, caption: string, title?: string): HTMLElement {
  const f = el('figure', title ? { title } : {}, content, el('figcaption', {}, caption));
  return f;
}

/** A row of image figures. */
export function strip(items: HTMLElement[], label?: string): HTMLElement {
  const row = el('div', { class: 'strip' });
  if (label) row.append(el('div', { class: 'strip-label' }, label));
  row.append(...items);
  return row;
}

export function predictionText(p: Prediction | null | undefined, classNames: string[]): string {
  if (!p) return '–';
  return `${classNames[p.label] ?? p.label} (${(100 * p.probabilities[p.label]!).toFixed(0)} %)`;
}

/** At most this many bars: a model with 1000 classes shows its most probable ones. */
const MAX_BARS = 10;

/** Horizontal bars of class probabilities (the most probable MAX_BARS, in class order), the arg-max highlighted. */
export function probabilityBars(p: Prediction, classNames: string[]): HTMLElement {
  const box = el('div', { class: 'bars' });
  const shown = p.probabilities.map((q, k) => ({ q, k })).sort((x, y) => y.q - x.q).slice(0, MAX_BARS).sort((x, y) => x.k - y.k);
  if (shown.length < p.probabilities.length) box.append(el('div', { class: 'hint' }, `the ${MAX_BARS} most probable of ${p.probabilities.length} outputs`));
  shown.forEach(({ q, k }) => {
    const bar = el('span', { class: k === p.label ? 'bar top' : 'bar' });
    bar.style.width = `${Math.max(1, Math.round(q * 100))}%`;
    box.append(el('div', { class: 'bar-row' }, el('span', { class: 'bar-label' }, classNames[k] ?? String(k)), el('span', { class: 'bar-track' }, bar), el('span', { class: 'bar-value' }, `${(q * 100).toFixed(1)}`)));
  });
  return box;
}

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export interface Series {
  name: string;
  values: (number | null)[];
  color: string;
  dashed?: boolean;
}

/** A line chart of series over x values, with y in [yMin, yMax] and an optional marked x index. */
export function lineChart(xs: number[], series: Series[], options: { yMin?: number; yMax?: number; mark?: number; xLabel?: string; yLabel?: string; width?: number; height?: number } = {}): SVGSVGElement {
  const width = options.width ?? 420;
  const height = options.height ?? 220;
  const pad = { l: 44, r: 12, t: 12, b: 34 };
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const yMin = options.yMin ?? Math.min(0, ...all);
  const yMax = options.yMax ?? Math.max(1e-9, ...all);
  const xMin = Math.min(...xs);
  const xMax = Math.max(xMin + 1e-9, ...xs);
  const X = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (width - pad.l - pad.r);
  const Y = (y: number) => height - pad.b - ((y - yMin) / (yMax - yMin || 1)) * (height - pad.t - pad.b);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'chart' });
  root.append(svg('rect', { x: pad.l, y: pad.t, width: width - pad.l - pad.r, height: height - pad.t - pad.b, fill: 'none', stroke: '#bbb' }));
  for (let k = 0; k <= 4; k++) {
    const y = yMin + ((yMax - yMin) * k) / 4;
    root.append(svg('line', { x1: pad.l, x2: width - pad.r, y1: Y(y), y2: Y(y), stroke: '#eee' }));
    const t = svg('text', { x: pad.l - 4, y: Y(y) + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#555' });
    t.textContent = Math.abs(yMax - yMin) >= 5 ? y.toFixed(0) : y.toFixed(2);
    root.append(t);
  }
  for (const x of [xMin, xMax]) {
    const t = svg('text', { x: X(x), y: height - pad.b + 14, 'text-anchor': 'middle', 'font-size': 10, fill: '#555' });
    t.textContent = String(x);
    root.append(t);
  }
  if (options.xLabel) {
    const t = svg('text', { x: (pad.l + width - pad.r) / 2, y: height - 4, 'text-anchor': 'middle', 'font-size': 11, fill: '#333' });
    t.textContent = options.xLabel;
    root.append(t);
  }
  if (options.mark !== undefined && xs[options.mark] !== undefined) {
    root.append(svg('line', { x1: X(xs[options.mark]!), x2: X(xs[options.mark]!), y1: pad.t, y2: height - pad.b, stroke: '#d33', 'stroke-width': 1.5, class: 'mark' }));
  }
  series.forEach((s, si) => {
    const points = s.values.map((v, i) => (v === null || !Number.isFinite(v) ? null : `${X(xs[i]!).toFixed(1)},${Y(v).toFixed(1)}`)).filter((p): p is string => p !== null);
    if (points.length > 0) root.append(svg('polyline', { points: points.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2, ...(s.dashed ? { 'stroke-dasharray': '5 3' } : {}) }));
    s.values.forEach((v, i) => {
      if (v !== null && Number.isFinite(v)) root.append(svg('circle', { cx: X(xs[i]!), cy: Y(v), r: 2.5, fill: s.color }));
    });
    const ly = pad.t + 12 + si * 13;
    root.append(svg('line', { x1: pad.l + 8, x2: pad.l + 24, y1: ly - 4, y2: ly - 4, stroke: s.color, 'stroke-width': 2 }));
    const t = svg('text', { x: pad.l + 28, y: ly, 'font-size': 10, fill: '#333' });
    t.textContent = s.name;
    root.append(t);
  });
  return root;
}
