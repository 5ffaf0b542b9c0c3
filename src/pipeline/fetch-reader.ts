/**
 * A `PipelineReader` over HTTP for the browser (and any runtime with fetch and SubtleCrypto):
 * the pipeline's files below a base URL, hashed with crypto.subtle. The explorer's worker reads
 * the zoo served at /models/ with it.
 */
import type { PipelineReader } from './open-pipeline.ts';

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * @example
 *   const reader = fetchReader('/models/');
 *   const p = openPipeline(checkManifest(await (await fetch('/models/manifest.json')).json(), 'manifest.json'), reader);
 */
export function fetchReader(base: string, fetchImpl: typeof fetch = fetch): PipelineReader {
  const root = base.endsWith('/') ? base : `${base}/`;
  return {
    read: async (file) => {
      const response = await fetchImpl(`${root}${file.split('/').map(encodeURIComponent).join('/')}`);
      if (!response.ok) throw new Error(`${file}: HTTP ${response.status} (${(await response.text()).trim().replace(/^\d{3} /, '')})`);
      return new Uint8Array(await response.arrayBuffer());
    },
    sha256: async (bytes) => hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)),
  };
}
