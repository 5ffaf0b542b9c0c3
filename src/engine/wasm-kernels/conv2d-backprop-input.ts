/**
 * Conv2DBackpropInput (conv2d's input gradient and the forward pass of conv2dTranspose). The
 * stock wasm kernel is a naive loop (1–2 GFLOP/s).
 *
 * Sub-pixel decomposition: the output rows i with (i + padTop) ≡ r (mod stride) only ever meet
 * the filter rows kh ≡ r, so for each of the stride² output phases the result is a stride-1
 * convolution of dy with a strided, flipped sub-filter, which XNNPACK runs at full speed:
 *   dx[q·s + r − padTop] = Σ_u dy[q − (T_r − 1) + u] · W[r + s·(T_r − 1 − u)],  T_r = ⌈(KH − r)/s⌉.
 * Unlike convolving a zero-dilated dy, no multiply is spent on inserted zeros (4× fewer FLOPs at
 * stride 2). The phases are interleaved back with Pack + Reshape and cropped to the input size.
 */
import { backend_util, env, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';

/** Inserts stride−1 zeros after every row/column of dy (NHWC); trailing zeros are cropped later. */
export function dilateSpatially(scope: KernelScope, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [b, h, w, c] = dy.shape as [number, number, number, number];
  // Rows: [b·h, 1, w·c] → pad axis 1 to sh; columns: [b·h·sh·w, 1, c] → pad axis 1 to sw.
  const rows = scope.run('PadV2', { x: scope.reshape(dy, [b * h, 1, w * c]) }, {
    paddings: [[0, 0], [0, sh - 1], [0, 0]], constantValue: 0,
  });
  const cols = scope.run('PadV2', { x: scope.reshape(rows, [b * h * sh * w, 1, c]) }, {
    paddings: [[0, 0], [0, sw - 1], [0, 0]], constantValue: 0,
  });
  return scope.reshape(cols, [b, h * sh, w * sw, c]);
}

/**
 * Pads the dilated gradient so that a valid stride-1 correlation with a kh×kw filter yields the
 * input's spatial size: KH−1−padTop before, the rest after (negative amounts crop).
 */
export function padForInputGradient(
  scope: KernelScope, dilated: TensorInfo, info: backend_util.Conv2DInfo, outputHeight: number, outputWidth: number,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw } = info;
  const before = [kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left];
  const [, dh, dw] = dilated.shape as [number, number, number, number];
  return scope.padOrCrop(dilated, [
    [0, 0],
    [before[0]!, outputHeight + kh - 1 - before[0]! - dh],
    [before[1]!, outputWidth + kw - 1 - before[1]! - dw],
    [0, 0],
  ]);
}

interface AxisPhase {
  /** Filter taps that reach this phase. */
  taps: number;
  /** First index of the sub-filter in the flipped filter. */
  start: number;
}

function axisPhases(kernel: number, stride: number): AxisPhase[] {
  return Array.from({ length: stride }, (_, r) => {
    const taps = Math.max(0, Math.ceil((kernel - r) / stride));
    return { taps, start: kernel - 1 - r - stride * (taps - 1) };
  });
}

/**
 * filter[start + stride·u, startW + strideW·v, :, :] for the phase's taps. Each tap is one
 * contiguous [Co, Ci] block, so this is a handful of block copies (the stock StridedSlice took
 * ~19 ms on a 3×3×256×128 filter).
 */
function spatialSubFilter(
  scope: KernelScope, filter: TensorInfo, rows: AxisPhase, cols: AxisPhase, sh: number, sw: number,
): TensorInfo {
  const [, kw, co, ci] = filter.shape as [number, number, number, number];
  const block = co * ci;
  const out = scope.allocate([rows.taps, cols.taps, co, ci], 'float32');
  const target = scope.backend.typedArrayFromHeap(out);
  const source = scope.backend.typedArrayFromHeap(filter);
  for (let u = 0; u < rows.taps; u++) {
    for (let v = 0; v < cols.taps; v++) {
      const from = ((rows.start + sh * u) * kw + (cols.start + sw * v)) * block;
      target.set(source.subarray(from, from + block), (u * cols.taps + v) * block);
    }
  }
  return out;
}

/**
 * The stride² sub-filters of one filter (flipped in space, [taps, taps, Co, Ci]; null for a phase
 * no tap reaches), in row-phase-major order.
 */
type SubFilters = Array<TensorInfo | null>;

function makeSubFilters(scope: KernelScope, filter: TensorInfo, sh: number, sw: number): SubFilters {
  const [kh, kw] = filter.shape as [number, number, number, number];
  const flipped = scope.transpose(scope.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
  if (sh === 1 && sw === 1) return [flipped];
  return axisPhases(kh, sh).flatMap((rows) => axisPhases(kw, sw).map((cols) =>
    rows.taps === 0 || cols.taps === 0 ? null : spatialSubFilter(scope, flipped, rows, cols, sh, sw)));
}

/**
 * Sub-filters kept across calls, per filter tensor and stride. Inference (the explorer's decoder,
 * sampling) calls conv2dTranspose with the same weights again and again; re-flipping and
 * re-slicing a 4×4×128×256 filter, and letting XNNPACK re-pack each new sub-filter, cost ~28 of
 * the ~31 ms such a call took. tfjs tensors are immutable (a variable's assign gives it a new
 * dataId), so a filter's dataId identifies its values; the few most recent filters are kept and
 * the oldest freed, which bounds the memory when training makes new weights every step.
 */
const PREPARED_FILTERS = 16;
const prepared = new Map<object, { geometry: string; backend: WasmBackendLike; subFilters: SubFilters }>();

function release(entry: { backend: WasmBackendLike; subFilters: SubFilters }): void {
  for (const f of entry.subFilters) {
    if (!f) continue;
    try {
      entry.backend.disposeData(f.dataId);
    } catch {
      // The backend that held it was disposed (tf.engine().reset()); its memory went with it.
    }
  }
}

function preparedSubFilters(scope: KernelScope, filter: TensorInfo, sh: number, sw: number): SubFilters {
  // tfjs's debug and test modes count the backend's buffers around every kernel and call a kept
  // one a leak, so there the sub-filters are made per call (and freed with the scope).
  if (env().getBool('DEBUG') || env().getBool('IS_TEST')) return makeSubFilters(scope, filter, sh, sw);
  // A reshape shares its input's dataId, so the shape is part of what the entry was made for.
  const geometry = `${filter.shape.join('×')} stride ${sh},${sw}`;
  const hit = prepared.get(filter.dataId);
  if (hit && hit.geometry === geometry && hit.backend === scope.backend) {
    // Most recently used last.
    prepared.delete(filter.dataId);
    prepared.set(filter.dataId, hit);
    return hit.subFilters;
  }
  if (hit) {
    release(hit);
    prepared.delete(filter.dataId);
  }
  const subFilters = makeSubFilters(scope, filter, sh, sw).map((f) => (f ? scope.keep(f) : null));
  prepared.set(filter.dataId, { geometry, backend: scope.backend, subFilters });
  while (prepared.size > PREPARED_FILTERS) {
    const [oldest, entry] = prepared.entries().next().value as [object, { backend: WasmBackendLike; subFilters: SubFilters }];
    release(entry);
    prepared.delete(oldest);
  }
  return subFilters;
}

/** Frees every kept sub-filter (tests, and before the backend goes away). */
export function clearPreparedFilters(): void {
  for (const entry of prepared.values()) release(entry);
  prepared.clear();
}

/** dx for a conv with the given geometry, from the filter's sub-filters (makeSubFilters). */
export function inputGradientByPhases(
  scope: KernelScope, dy: TensorInfo, subFilters: SubFilters, info: backend_util.Conv2DInfo,
  inputShape: [number, number, number, number],
): TensorInfo {
  const [batch, height, width, inChannels] = inputShape;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const [, outHeight, outWidth] = dy.shape as [number, number, number, number];
  const rowsPerPhase = Math.ceil((top + height) / sh);
  const colsPerPhase = Math.ceil((left + width) / sw);
  const rowPhases = axisPhases(kh, sh);
  const colPhases = axisPhases(kw, sw);
  const phaseRows: TensorInfo[] = [];
  rowPhases.forEach((rowPhase, r) => {
    const phaseCols: TensorInfo[] = [];
    colPhases.forEach((colPhase, c) => {
      const subFilter = subFilters[r * colPhases.length + c];
      if (!subFilter) {
        phaseCols.push(scope.run('Fill', {}, { shape: [batch, rowsPerPhase, colsPerPhase, inChannels], value: 0, dtype: 'float32' }));
        return;
      }
      const padded = scope.padOrCrop(dy, [
        [0, 0],
        [rowPhase.taps - 1, rowsPerPhase - outHeight],
        [colPhase.taps - 1, colsPerPhase - outWidth],
        [0, 0],
      ]);
      phaseCols.push(scope.run('Conv2D', { x: padded, filter: subFilter }, {
        strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined as never,
      }));
    });
    // Interleave the column phases: [b, Q, Qw, sw, c] → [b, Q, Qw·sw, c].
    phaseRows.push(sw === 1
      ? phaseCols[0]!
      : scope.reshape(scope.run('Pack', phaseCols as never, { axis: 3 }), [batch, rowsPerPhase, colsPerPhase * sw, inChannels]));
  });
  const interleaved = sh === 1
    ? phaseRows[0]!
    : scope.reshape(scope.run('Pack', phaseRows as never, { axis: 2 }), [batch, rowsPerPhase * sh, colsPerPhase * sw, inChannels]);
  const [, fullHeight, fullWidth] = interleaved.shape as [number, number, number, number];
  return scope.padOrCrop(interleaved, [[0, 0], [-top, height + top - fullHeight], [-left, width + left - fullWidth], [0, 0]]);
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const dy = inputs['dy'] as TensorInfo;
    const filter = inputs['filter'] as TensorInfo;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      inputShape: [number, number, number, number];
    };
    if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropInput supports only NHWC (channelsLast)');
    const info = backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode,
    );
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const subFilters = preparedSubFilters(scope, filter, info.strideHeight, info.strideWidth);
    return scope.finish(inputGradientByPhases(scope, dy, subFilters, info, inputShape));
  },
};
