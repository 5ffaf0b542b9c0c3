/**
 * The ONNX schema subset of onnx-schema.ts as .proto text (field numbers from the ONNX
 * specification), for protobufjs' reflection in Node: encoding models (test fixtures) and
 * rewriting a model with its external data moved inside (the explorer server). Reflection
 * compiles code with `new Function`, so this file is not for the browser, which decodes with
 * onnx-schema.ts.
 */
import protobuf from 'protobufjs';
import { decodeModelProto } from './onnx-schema.ts';

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

let modelType: protobuf.Type | null = null;

/** protobufjs' type for onnx.ModelProto (camelCase field names, as onnx-schema.ts's interfaces). */
export function modelProtoType(): protobuf.Type {
  if (!modelType) modelType = protobuf.parse(ONNX_PROTO, { keepCase: false }).root.lookupType('onnx.ModelProto');
  return modelType;
}

/**
 * Encodes a model given as a plain object with onnx-schema.ts's field names.
 *
 * @example
 *   const bytes = encodeModelProto({ irVersion: 8, opsetImport: [{ version: 13 }], graph: { node: [...] } });
 */
export function encodeModelProto(model: object): Uint8Array {
  const type = modelProtoType();
  return type.encode(type.fromObject(model)).finish();
}

/**
 * The model with every externally stored initializer's data moved into the file (raw_data), for
 * a consumer that has only the .onnx bytes (the explorer's page). Bytes without external data
 * are returned as they are.
 */
export function inlineExternalData(bytes: Uint8Array, source: string, read: (location: string, offset: number, length: number) => Uint8Array): Uint8Array {
  const proto = decodeModelProto(bytes, source);
  if (!(proto.graph?.initializer ?? []).some((t) => t.dataLocation === 1)) return bytes;
  const type = modelProtoType();
  const message = type.decode(bytes) as unknown as { graph?: { initializer?: { name?: string; dataLocation?: number; externalData?: { key?: string; value?: string }[]; rawData?: Uint8Array }[] } };
  for (const t of message.graph?.initializer ?? []) {
    if (t.dataLocation !== 1) continue;
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
