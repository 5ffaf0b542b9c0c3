/**
 * The page's side of the worker protocol: typed requests that resolve with the worker's
 * answer, and a "latest wins" runner so that dragging a slider never queues stale work.
 */
import type { Request, ResultOf, WorkerMessage } from './protocol.ts';

export class WorkerClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly worker: Worker, onProgress: (text: string) => void) {
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      const m = event.data;
      if ('progress' in m) {
        onProgress(m.progress);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    };
    worker.onerror = (event) => {
      const error = new Error(`the worker failed: ${event.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      event.preventDefault();
    };
  }

  request<R extends Request>(request: R, transfer: Transferable[] = []): Promise<ResultOf[R['type']]> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, request }, transfer);
    });
  }
}

/** Runs `task` now, or once more after the running one finishes (however often it was asked meanwhile). */
export class LatestRunner {
  private busy = false;
  private again = false;

  constructor(private readonly task: () => Promise<void>) {}

  trigger(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.task().finally(() => {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    });
  }
}
