/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, IR version 3–9) that a model file needs
 * to be run — the model, its graph, nodes, attributes, tensors and value infos — decoded by hand
 * over protobufjs' wire-format Reader, with the field numbers of the ONNX specification (docs/IR.md,
 * onnx.proto). By hand rather than through protobufjs' reflection because reflection compiles its
 * decoders with `new Function`, which the explorer's Content Security Policy forbids; the Reader
 * needs no eval, so the same decoder runs in Node and the browser. Fields inntrospect never reads
 * (training info, sparse initializers, functions, quantisation annotations) are skipped, so files
 * that carry them decode all the same. onnx-encode.ts writes the same schema as .proto text for
 * Node (tests, the explorer server); a test checks that both agree.
 */
import protobuf from 'protobufjs/minimal.js';

// ---------------------------------------------------------------------------------------------
// The decoded messages, as plain objects (int64 as numbers; bytes stay views of the file)

export interface OnnxAttribute {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensorProto;
  g?: OnnxGraphProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: OnnxTensorProto[];
}

export interface OnnxNodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: OnnxAttribute[];
}

export interface OnnxTensorProto {
  dims?: number[];
  dataType?: number;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  uint64Data?: number[];
  name?: string;
  rawData?: Uint8Array;
  externalData?: { key?: string; value?: string }[];
  dataLocation?: number;
}

export interface OnnxDimension { dimValue?: number; dimParam?: string }

export interface OnnxValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: OnnxDimension[] } } };
}

export interface OnnxGraphProto {
  node?: OnnxNodeProto[];
  name?: string;
  initializer?: OnnxTensorProto[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
}

export interface OnnxModelProto {
  irVersion?: number;
  opsetImport?: { domain?: string; version?: number }[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: OnnxGraphProto;
  metadataProps?: { key?: string; value?: string }[];
}

/** ONNX TensorProto.DataType values inntrospect reads. */
export const ONNX_DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;

/** TensorProto.DataType numbers → names, for messages. */
export const ONNX_DTYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16',
};

type Reader = protobuf.Reader;

function int64(r: Reader): number {
  const v = r.int64() as unknown as number | { toNumber(): number };
  return typeof v === 'number' ? v : v.toNumber();
}

/** A repeated scalar, packed (wire type 2) or not. */
function repeated<T>(r: Reader, wire: number, read: () => T, out: T[] | undefined): T[] {
  const list = out ?? [];
  if (wire === 2) {
    const end = r.uint32() + r.pos;
    while (r.pos < end) list.push(read());
  } else {
    list.push(read());
  }
  return list;
}

/** Reads fields of a message until `end`, handing each (field number, wire type) to `field`, which returns false to skip it. */
function message(r: Reader, end: number, field: (no: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (no === 0) throw new Error(`invalid field number 0 at byte ${r.pos}`);
    if (!field(no, wire)) r.skipType(wire);
  }
  if (r.pos !== end) throw new Error(`a message overruns its length (byte ${r.pos} of ${end})`);
}

const sub = <T>(r: Reader, read: (r: Reader, end: number) => T): T => {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new Error(`a field of ${len} bytes at byte ${r.pos} runs past the end (${r.len} bytes)`);
  return read(r, end);
};

function entry(r: Reader, end: number): { key?: string; value?: string } {
  const e: { key?: string; value?: string } = {};
  message(r, end, (no) => {
    if (no === 1) e.key = r.string();
    else if (no === 2) e.value = r.string();
    else return false;
    return true;
  });
  return e;
}

function tensor(r: Reader, end: number): OnnxTensorProto {
  const t: OnnxTensorProto = {};
  message(r, end, (no, wire) => {
    switch (no) {
      case 1: t.dims = repeated(r, wire, () => int64(r), t.dims); break;
      case 2: t.dataType = r.int32(); break;
      case 4: t.floatData = repeated(r, wire, () => r.float(), t.floatData); break;
      case 5: t.int32Data = repeated(r, wire, () => r.int32(), t.int32Data); break;
      case 7: t.int64Data = repeated(r, wire, () => int64(r), t.int64Data); break;
      case 8: t.name = r.string(); break;
      case 9: t.rawData = r.bytes(); break;
      case 10: t.doubleData = repeated(r, wire, () => r.double(), t.doubleData); break;
      case 11: t.uint64Data = repeated(r, wire, () => int64(r), t.uint64Data); break;
      case 13: (t.externalData ??= []).push(sub(r, entry)); break;
      case 14: t.dataLocation = r.int32(); break;
      default: return false;
    }
    return true;
  });
  return t;
}

function attribute(r: Reader, end: number): OnnxAttribute {
  const a: OnnxAttribute = { name: '' };
  message(r, end, (no, wire) => {
    switch (no) {
      case 1: a.name = r.string(); break;
      case 20: a.type = r.int32(); break;
      case 2: a.f = r.float(); break;
      case 3: a.i = int64(r); break;
      case 4: a.s = r.bytes(); break;
      case 5: a.t = sub(r, tensor); break;
      case 6: a.g = sub(r, graph); break;
      case 7: a.floats = repeated(r, wire, () => r.float(), a.floats); break;
      case 8: a.ints = repeated(r, wire, () => int64(r), a.ints); break;
      case 9: (a.strings ??= []).push(r.bytes()); break;
      case 10: (a.tensors ??= []).push(sub(r, tensor)); break;
      default: return false;
    }
    return true;
  });
  return a;
}

function node(r: Reader, end: number): OnnxNodeProto {
  const n: OnnxNodeProto = {};
  message(r, end, (no) => {
    switch (no) {
      case 1: (n.input ??= []).push(r.string()); break;
      case 2: (n.output ??= []).push(r.string()); break;
      case 3: n.name = r.string(); break;
      case 4: n.opType = r.string(); break;
      case 7: n.domain = r.string(); break;
      case 5: (n.attribute ??= []).push(sub(r, attribute)); break;
      default: return false;
    }
    return true;
  });
  return n;
}

function dimension(r: Reader, end: number): OnnxDimension {
  const d: OnnxDimension = {};
  message(r, end, (no) => {
    if (no === 1) d.dimValue = int64(r);
    else if (no === 2) d.dimParam = r.string();
    else return false;
    return true;
  });
  return d;
}

function valueInfo(r: Reader, end: number): OnnxValueInfo {
  const v: OnnxValueInfo = {};
  message(r, end, (no) => {
    if (no === 1) { v.name = r.string(); return true; }
    if (no !== 2) return false;
    v.type = sub(r, (r1, e1) => {
      const type: NonNullable<OnnxValueInfo['type']> = {};
      message(r1, e1, (n1) => {
        if (n1 !== 1) return false;
        type.tensorType = sub(r1, (r2, e2) => {
          const tt: NonNullable<NonNullable<OnnxValueInfo['type']>['tensorType']> = {};
          message(r2, e2, (n2) => {
            if (n2 === 1) tt.elemType = r2.int32();
            else if (n2 === 2) {
              tt.shape = sub(r2, (r3, e3) => {
                const shape: { dim?: OnnxDimension[] } = { dim: [] };
                message(r3, e3, (n3) => {
                  if (n3 !== 1) return false;
                  shape.dim!.push(sub(r3, dimension));
                  return true;
                });
                return shape;
              });
            } else return false;
            return true;
          });
          return tt;
        });
        return true;
      });
      return type;
    });
    return true;
  });
  return v;
}

function graph(r: Reader, end: number): OnnxGraphProto {
  const g: OnnxGraphProto = {};
  message(r, end, (no) => {
    switch (no) {
      case 1: (g.node ??= []).push(sub(r, node)); break;
      case 2: g.name = r.string(); break;
      case 5: (g.initializer ??= []).push(sub(r, tensor)); break;
      case 11: (g.input ??= []).push(sub(r, valueInfo)); break;
      case 12: (g.output ??= []).push(sub(r, valueInfo)); break;
      case 13: (g.valueInfo ??= []).push(sub(r, valueInfo)); break;
      default: return false;
    }
    return true;
  });
  return g;
}

function model(r: Reader, end: number): OnnxModelProto {
  const m: OnnxModelProto = {};
  message(r, end, (no) => {
    switch (no) {
      case 1: m.irVersion = int64(r); break;
      case 8: (m.opsetImport ??= []).push(sub(r, (r1, e1) => {
        const o: { domain?: string; version?: number } = {};
        message(r1, e1, (n1) => {
          if (n1 === 1) o.domain = r1.string();
          else if (n1 === 2) o.version = int64(r1);
          else return false;
          return true;
        });
        return o;
      })); break;
      case 2: m.producerName = r.string(); break;
      case 3: m.producerVersion = r.string(); break;
      case 4: m.domain = r.string(); break;
      case 5: m.modelVersion = int64(r); break;
      case 6: m.docString = r.string(); break;
      case 7: m.graph = sub(r, graph); break;
      case 14: (m.metadataProps ??= []).push(sub(r, entry)); break;
      default: return false;
    }
    return true;
  });
  return m;
}

/**
 * Decodes an .onnx file's bytes. A file that is not a model (truncated, another format) is an
 * error naming `source` and what the decoder found.
 *
 * @example
 *   const proto = decodeModelProto(readFileSync('model.onnx'), 'model.onnx');
 */
export function decodeModelProto(bytes: Uint8Array, source: string): OnnxModelProto {
  let decoded: OnnxModelProto;
  try {
    const r = protobuf.Reader.create(bytes);
    decoded = model(r, r.len);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`${source}: not a readable ONNX model (${bytes.byteLength} bytes; protobuf: ${why}); the file is truncated or not an .onnx export`);
  }
  if (!decoded.graph || !decoded.graph.node || decoded.graph.node.length === 0) {
    throw new Error(`${source}: not an ONNX model with a graph (${bytes.byteLength} bytes decode to no nodes); the file is truncated or not an .onnx export`);
  }
  return decoded;
}
