/**
 * Parser for the IDX format of MNIST and Fashion-MNIST (browser-safe; `idx-node.ts` reads files).
 *
 * Layout (LeCun's MNIST page): two zero bytes, a type byte (0x08 unsigned byte, 0x09 signed
 * byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each
 * dimension as a big-endian uint32, then the values in row-major order, big-endian.
 */

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export interface IdxArray {
  type: IdxType;
  shape: number[];
  /** Values in row-major order. uint8 data is a view of the input bytes (no copy). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

/** True when the bytes start with the gzip signature (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses IDX bytes. `source` names the file in error messages.
 *
 * @example
 *   const labels = parseIdx(bytes, 'train-labels-idx1-ubyte');   // { type: 'uint8', shape: [60000], data }
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (isGzip(bytes)) {
    throw new Error(`${source}: is gzip-compressed; decompress it first (readIdxFile does this)`);
  }
  if (bytes.length < 4) {
    throw new Error(`${source}: truncated IDX header: ${bytes.length} bytes, need at least 4`);
  }
  const code = bytes[2]!;
  const ndim = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || TYPES[code] === undefined) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${source}: not an IDX file: magic bytes ${magic}, expected 00 00 <type 08|09|0b|0c|0d|0e> <ndim>`);
  }
  if (ndim === 0) throw new Error(`${source}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new Error(`${source}: truncated IDX header: ${bytes.length} bytes, ${ndim} dimensions need ${headerBytes}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const { type, bytes: width } = TYPES[code]!;
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * width;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new Error(
      `${source}: ${what}: ${bytes.length} bytes, but the header's shape [${shape.join(', ')}] of ${type} needs ${expected}`,
    );
  }
  const body = bytes.subarray(headerBytes);
  if (type === 'uint8') return { type, shape, data: body };
  if (type === 'int8') return { type, shape, data: new Int8Array(body.buffer, body.byteOffset, count) };
  const out =
    type === 'int16' ? new Int16Array(count)
    : type === 'int32' ? new Int32Array(count)
    : type === 'float32' ? new Float32Array(count)
    : new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const at = headerBytes + i * width;
    out[i] =
      type === 'int16' ? view.getInt16(at, false)
      : type === 'int32' ? view.getInt32(at, false)
      : type === 'float32' ? view.getFloat32(at, false)
      : view.getFloat64(at, false);
  }
  return { type, shape, data: out };
}

/** Encodes an array as IDX bytes (for tests and for exporting data in the MNIST format). */
export function encodeIdx(type: IdxType, shape: number[], values: ArrayLike<number>): Uint8Array {
  const entry = Object.entries(TYPES).find(([, t]) => t.type === type)!;
  const code = Number(entry[0]);
  const width = entry[1].bytes;
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`encodeIdx: ${values.length} values for shape [${shape.join(', ')}]`);
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + count * width);
  const view = new DataView(bytes.buffer);
  bytes[2] = code;
  bytes[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const at = header + i * width;
    const v = values[i]!;
    if (type === 'uint8') view.setUint8(at, v);
    else if (type === 'int8') view.setInt8(at, v);
    else if (type === 'int16') view.setInt16(at, v, false);
    else if (type === 'int32') view.setInt32(at, v, false);
    else if (type === 'float32') view.setFloat32(at, v, false);
    else view.setFloat64(at, v, false);
  }
  return bytes;
}

/**
 * Checks that an images file and a labels file form an MNIST-style pair and returns them as
 * RawImages fields. `imagesSource`/`labelsSource` name the files in errors.
 */
export function idxImagesAndLabels(
  images: IdxArray,
  labels: IdxArray,
  imagesSource: string,
  labelsSource: string,
): { pixels: Uint8Array; shape: [number, number, number]; labels: Int32Array } {
  if (images.type !== 'uint8' || images.shape.length !== 3) {
    throw new Error(`${imagesSource}: expected uint8 images of shape [n, height, width], got ${images.type} [${images.shape.join(', ')}]`);
  }
  if (labels.type !== 'uint8' || labels.shape.length !== 1) {
    throw new Error(`${labelsSource}: expected uint8 labels of shape [n], got ${labels.type} [${labels.shape.join(', ')}]`);
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw new Error(`${imagesSource} has ${images.shape[0]} images but ${labelsSource} has ${labels.shape[0]} labels`);
  }
  return {
    pixels: images.data as Uint8Array,
    shape: [images.shape[0]!, images.shape[1]!, images.shape[2]!],
    labels: Int32Array.from(labels.data as Uint8Array),
  };
}
