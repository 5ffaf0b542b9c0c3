// Runs in the page: the same engine code as in Node, on the wasm backend, with the kernel self-check.
import { initEngine } from '../../src/engine/index.ts';
import { selfCheck } from '../../src/engine/self-check.ts';

declare global { interface Window { engineResult?: unknown; engineError?: string } }

try {
  const info = await initEngine({ backend: 'wasm', wasmPaths: '/wasm/' });
  const report = await selfCheck('wasm');
  window.engineResult = { info, passed: report.passed, failed: report.failed, failures: report.cases.filter((c) => !c.ok).map((c) => c.name) };
} catch (error) {
  window.engineError = error instanceof Error ? `${error.message}\n${error.stack}` : String(error);
}
