/**
 * An ONNX model as inntrospect reads it: the decoded protobuf (onnx-schema.ts) turned into typed
 * nodes, attributes, initializers (their values read from raw_data, the typed fields or an
 * external data file) and the single image input. Browser-safe: external data arrive through a
 * reader the caller supplies (Node reads files next to the .onnx; the explorer has none).
 */
import {
  decodeModelProto, ONNX_DTYPE, ONNX_DTYPE_NAMES,
  type OnnxAttribute, type OnnxModelProto, type OnnxTensorProto, type OnnxValueInfo,
} from './onnx-schema.ts';

/** A tensor's values: float data as Float32Array, integer data as numbers (int64 fits shapes and indices). */
export interface OnnxTensor {
  dims: number[];
  /** 'float32' for FLOAT/DOUBLE/FLOAT16, 'int' for the integer and bool types. */
  kind: 'float32' | 'int';
  data: Float32Array | number[];
}

export type AttributeValue = number | number[] | string | string[] | OnnxTensor | OnnxTensor[];

export interface OnnxNode {
  /** The node's name; `<op_type>_<index>` when the file leaves it empty. */
  name: string;
  opType: string;
  domain: string;
  /** Input value names ('' for an omitted optional input). */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, AttributeValue>;
}

export interface OnnxValueShape {
  name: string;
  /** Element type name ('FLOAT', …). */
  elemType: string;
  /** Dimensions: a number, or the symbolic name (e.g. 'batch') for a dynamic one. */
  dims: (number | string)[] | null;
}

export interface OnnxGraph {
  /** For messages: the file. */
  source: string;
  irVersion: number;
  /** The default domain's opset version. */
  opset: number;
  producer: string;
  /** The graph's one non-initializer input. */
  input: OnnxValueShape;
  outputs: OnnxValueShape[];
  initializers: Map<string, OnnxTensor>;
  nodes: OnnxNode[];
}

/**
 * Reads an external data file named by a tensor (`location`, relative to the model) and returns
 * `length` bytes from `offset` (length -1: to its end). Throws when the file is missing.
 */
export type ExternalDataReader = (location: string, offset: number, length: number) => Uint8Array;

function valueShape(v: OnnxValueInfo): OnnxValueShape {
  const t = v.type?.tensorType;
  const dims = t?.shape?.dim?.map((d, i) => (d.dimValue !== undefined ? d.dimValue : d.dimParam ?? `?${i}`)) ?? null;
  return { name: v.name ?? '', elemType: ONNX_DTYPE_NAMES[t?.elemType ?? 0] ?? String(t?.elemType), dims };
}

function float16ToFloat32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** The values of raw little-endian bytes of an ONNX data type. */
function fromRaw(bytes: Uint8Array, dataType: number, count: number, what: string): Float32Array | number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8 };
  const width = size[dataType];
  if (width === undefined) throw new Error(`${what}: data type ${ONNX_DTYPE_NAMES[dataType] ?? dataType} is not supported (FLOAT, FLOAT16, DOUBLE and the integer types are)`);
  if (bytes.byteLength !== width * count) throw new Error(`${what}: holds ${bytes.byteLength} bytes of data but its shape needs ${width * count} (${count} × ${ONNX_DTYPE_NAMES[dataType]}); the file is truncated`);
  switch (dataType) {
    case ONNX_DTYPE.FLOAT: {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case ONNX_DTYPE.DOUBLE: return Float32Array.from({ length: count }, (_, i) => view.getFloat64(i * 8, true));
    case ONNX_DTYPE.FLOAT16: return Float32Array.from({ length: count }, (_, i) => float16ToFloat32(view.getUint16(i * 2, true)));
    case ONNX_DTYPE.INT64: return Array.from({ length: count }, (_, i) => Number(view.getBigInt64(i * 8, true)));
    case ONNX_DTYPE.INT32: return Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
    case ONNX_DTYPE.INT8: return Array.from({ length: count }, (_, i) => view.getInt8(i));
    default: return Array.from(bytes);
  }
}

function isFloatType(dataType: number): boolean {
  return dataType === ONNX_DTYPE.FLOAT || dataType === ONNX_DTYPE.DOUBLE || dataType === ONNX_DTYPE.FLOAT16;
}

/** A TensorProto's values, from whichever field holds them. */
export function tensorValues(t: OnnxTensorProto, what: string, external?: ExternalDataReader): OnnxTensor {
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataType = t.dataType ?? 0;
  const kind = isFloatType(dataType) ? 'float32' : 'int';
  let data: Float32Array | number[];
  if (t.dataLocation === 1) {
    const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = entries.get('location');
    if (!location) throw new Error(`${what}: stored externally but names no data file (external_data has no 'location')`);
    if (!external) throw new Error(`${what}: stored in the external data file '${location}', which cannot be read here; save the model with its data inside the .onnx file (onnx.save(model, path, save_as_external_data=False))`);
    let bytes: Uint8Array;
    try {
      bytes = external(location, Number(entries.get('offset') ?? 0), Number(entries.get('length') ?? -1));
    } catch (error) {
      throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
    data = fromRaw(bytes, dataType, count, `${what} (external data '${location}')`);
  } else if (t.rawData && t.rawData.byteLength > 0) {
    data = fromRaw(t.rawData, dataType, count, what);
  } else {
    const field = t.floatData ?? t.doubleData ?? t.int32Data ?? t.int64Data ?? t.uint64Data ?? [];
    if (field.length !== count) throw new Error(`${what}: holds ${field.length} values but its shape [${dims.join(', ')}] needs ${count}; the file is truncated`);
    data = kind === 'float32' ? Float32Array.from(field) : field.map(Number);
    if (dataType === ONNX_DTYPE.FLOAT16) data = Float32Array.from(field, (v) => float16ToFloat32(v));
  }
  return { dims, kind, data };
}

const decoder = new TextDecoder();

function attributeValue(a: OnnxAttribute, what: string, external?: ExternalDataReader): AttributeValue {
  // type: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7, STRINGS 8, TENSORS 9
  switch (a.type) {
    case 1: return a.f ?? 0;
    case 2: return a.i ?? 0;
    case 3: return a.s ? decoder.decode(a.s) : '';
    case 4: return tensorValues(a.t ?? {}, `${what} attribute '${a.name}'`, external);
    case 6: return a.floats ?? [];
    case 7: return (a.ints ?? []).map(Number);
    case 8: return (a.strings ?? []).map((s) => decoder.decode(s));
    case 9: return (a.tensors ?? []).map((t) => tensorValues(t, `${what} attribute '${a.name}'`, external));
    default: throw new Error(`${what}: attribute '${a.name}' has type ${a.type}, which inntrospect does not read (graphs and sparse tensors are not supported)`);
  }
}

/**
 * Reads an .onnx file's bytes into a typed graph. The model must have one image input (any
 * number of initializers may also be listed as inputs, as older exporters do).
 *
 * @example
 *   const graph = parseOnnx(bytes, 'model.onnx', (loc, off, len) => readSlice(join(dir, loc), off, len));
 */
export function parseOnnx(bytes: Uint8Array, source: string, external?: ExternalDataReader): OnnxGraph {
  const proto: OnnxModelProto = decodeModelProto(bytes, source);
  const g = proto.graph!;
  const opsetEntry = (proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = Number(opsetEntry?.version ?? 0);
  if (!opset) throw new Error(`${source}: the model imports no opset of the default ONNX domain`);
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorValues(t, `${source}: initializer '${t.name}'`, external));
  const inputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(valueShape);
  if (inputs.length !== 1) throw new Error(`${source}: a model under study takes one image input; this graph has ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`);
  const counts = new Map<string, number>();
  const nodes = (g.node ?? []).map((n, index): OnnxNode => {
    const opType = n.opType ?? '';
    const name = n.name || `${opType}_${index}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const what = `${source}: node '${name}' (${opType})`;
    const attributes = new Map<string, AttributeValue>();
    for (const a of n.attribute ?? []) attributes.set(a.name ?? '', attributeValue(a, what, external));
    return { name, opType, domain: n.domain ?? '', inputs: n.input ?? [], outputs: n.output ?? [], attributes };
  });
  const twice = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
  if (twice.length > 0) throw new Error(`${source}: node names must be unique; ${twice.slice(0, 5).join(', ')} occur more than once`);
  return {
    source, irVersion: Number(proto.irVersion ?? 0), opset, producer: `${proto.producerName ?? ''} ${proto.producerVersion ?? ''}`.trim() || 'unknown',
    input: inputs[0]!, outputs: (g.output ?? []).map(valueShape), initializers, nodes,
  };
}
