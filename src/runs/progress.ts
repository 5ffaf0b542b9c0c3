/**
 * Typed progress events. Library code reports through an `onProgress` callback and never
 * prints; the CLI renders bars, the explorer shows them in the page, tests assert on them.
 */

export interface ProgressEvent {
  /** What is running, e.g. 'train ae' or 'sample'. */
  task: string;
  /** Steps done so far (monotone within a task). */
  step: number;
  /** Total steps, when known. */
  total?: number;
  /** Latest numbers to show, e.g. { loss: 0.31 }. */
  metrics?: Record<string, number>;
  /** Set on the last event of a task. */
  done?: boolean;
}

export type ProgressListener = (event: ProgressEvent) => void;

export const ignoreProgress: ProgressListener = () => {};
