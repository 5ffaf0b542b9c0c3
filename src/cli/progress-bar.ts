/**
 * Renders progress events for a terminal: a redrawn bar with steps, metrics and ETA on a TTY,
 * plain throttled lines otherwise (CI logs, pipes).
 */
import type { ProgressEvent, ProgressListener } from '../runs/progress.ts';

export interface ProgressBarOptions {
  stream?: NodeJS.WriteStream | { isTTY?: boolean; columns?: number; write(text: string): boolean };
  /** Minimum milliseconds between plain lines. Default 2000. */
  plainIntervalMs?: number;
  now?: () => number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

function formatMetrics(metrics: Record<string, number> | undefined): string {
  if (!metrics) return '';
  return Object.entries(metrics).map(([k, v]) => `${k} ${Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4)}`).join('  ');
}

export function createProgressBar(options: ProgressBarOptions = {}): ProgressListener {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => Date.now());
  const interval = options.plainIntervalMs ?? 2000;
  const started = new Map<string, { time: number; step: number }>();
  let lastPlain = -Infinity;
  return (event: ProgressEvent) => {
    const t = now();
    if (!started.has(event.task)) started.set(event.task, { time: t, step: event.step });
    const start = started.get(event.task)!;
    const rate = (event.step - start.step) / Math.max((t - start.time) / 1000, 1e-9);
    const eta = event.total !== undefined && rate > 0 ? (event.total - event.step) / rate : NaN;
    const count = event.total !== undefined ? `${event.step}/${event.total}` : `${event.step}`;
    const tail = `${count}  ${formatMetrics(event.metrics)}${event.done ? `  done in ${formatDuration((t - start.time) / 1000)}` : `  ETA ${formatDuration(eta)}`}`;
    if (stream.isTTY) {
      const width = Math.max(10, Math.min(30, ((stream as { columns?: number }).columns ?? 80) - tail.length - event.task.length - 6));
      const fraction = event.total ? Math.min(1, event.step / event.total) : 0;
      const filled = Math.round(fraction * width);
      stream.write(`\r\x1b[2K${event.task} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}${event.done ? '\n' : ''}`);
    } else if (event.done || t - lastPlain >= interval) {
      lastPlain = t;
      stream.write(`${event.task}: ${tail}\n`);
    }
    if (event.done) started.delete(event.task);
  };
}
