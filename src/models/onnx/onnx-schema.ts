/**
 * The part of the ONNX protobuf schema (onnx/onnx.proto, IR version 3–9) that a model file
 * needs to be run: the model, its graph, nodes, attributes, tensors and value infos. Written here
 * from the ONNX specification's field numbers (docs/IR.md and onnx.proto), parsed at run time by
 * protobufjs, so the same decoder runs in Node and in the browser. Fields inntrospect never reads
 * (training info, sparse initializers, functions, quantisation annotations) are left out;
 * protobuf skips unknown fields, so files that carry them decode all the same.
 */
import protobuf from 'protobufjs';

const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7;
    STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSOR = 11; SPARSE_TENSORS = 12;
    TYPE_PROTO = 13; TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional string ref_attr_name = 21;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional DataLocation data_location = 14;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

// ---------------------------------------------------------------------------------------------
// The decoded messages, as plain objects (protobufjs' toObject with int64 as numbers; bytes stay views of the file)

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

let modelType: protobuf.Type | null = null;

function modelProtoType(): protobuf.Type {
  if (!modelType) modelType = protobuf.parse(ONNX_PROTO, { keepCase: false }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/**
 * Decodes an .onnx file's bytes. A file that is not a model (truncated, another format) is an
 * error naming `source` and what protobuf found.
 *
 * @example
 *   const proto = decodeModelProto(readFileSync('model.onnx'), 'model.onnx');
 */
export function decodeModelProto(bytes: Uint8Array, source: string): OnnxModelProto {
  const type = modelProtoType();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`${source}: not a readable ONNX model (${bytes.byteLength} bytes; protobuf: ${why}); the file is truncated or not an .onnx export`);
  }
  const model = type.toObject(message, { longs: Number, defaults: false, arrays: true }) as OnnxModelProto;
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new Error(`${source}: not an ONNX model with a graph (${bytes.byteLength} bytes decode to no nodes); the file is truncated or not an .onnx export`);
  }
  return model;
}

/**
 * The model with every externally stored initializer's data moved into the file (raw_data), for
 * a consumer that has only the .onnx bytes (the explorer's page). Bytes without external data
 * are returned as they are.
 */
export function inlineExternalData(bytes: Uint8Array, source: string, read: (location: string, offset: number, length: number) => Uint8Array): Uint8Array {
  const type = modelProtoType();
  decodeModelProto(bytes, source);
  const message = type.decode(bytes) as unknown as { graph?: { initializer?: { name?: string; dataLocation?: number; externalData?: { key?: string; value?: string }[]; rawData?: Uint8Array }[] } };
  const external = (message.graph?.initializer ?? []).filter((t) => t.dataLocation === 1);
  if (external.length === 0) return bytes;
  for (const t of external) {
    const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    try {
      t.rawData = read(entries.get('location') ?? '', Number(entries.get('offset') ?? 0), Number(entries.get('length') ?? -1));
    } catch (error) {
      throw new Error(`${source}: initializer '${t.name}': ${error instanceof Error ? error.message : String(error)}`);
    }
    t.dataLocation = 0;
    t.externalData = [];
  }
  return type.encode(message as unknown as protobuf.Message).finish();
}
