/**
 * The field table of the ONNX schema, read once from `onnx.proto` with
 * protobufjs and flattened into plain descriptors the codec walks.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/** Scalar kinds as the wire format sees them. */
export type ScalarKind =
  | 'double' | 'float' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'sint32' | 'sint64'
  | 'fixed32' | 'fixed64' | 'sfixed32' | 'sfixed64' | 'bool' | 'string' | 'bytes' | 'enum';

export interface FieldDescriptor {
  /** Field number on the wire. */
  readonly number: number;
  /** camelCase property name in decoded objects. */
  readonly name: string;
  /** Scalar kind, or 'message'. */
  readonly kind: ScalarKind | 'message';
  readonly repeated: boolean;
  /** Whether the schema asks for packed encoding (proto2: only where `[packed = true]`). */
  readonly packed: boolean;
  /** Whether the field may legally appear packed on the wire (repeated numeric scalars). */
  readonly packable: boolean;
  /** Wire type of one unpacked element. */
  readonly wireType: number;
  /** For message fields: the nested type. */
  message: MessageDescriptor | undefined;
}

export interface MessageDescriptor {
  /** Fully qualified name, e.g. `onnx.ModelProto`. */
  readonly name: string;
  /** Fields in ascending field-number order (the order protobuf writers use). */
  readonly fields: readonly FieldDescriptor[];
  /** Field number → descriptor. */
  readonly byNumber: ReadonlyMap<number, FieldDescriptor>;
  /** Names of repeated fields, created as empty arrays in every decoded object. */
  readonly repeatedNames: readonly string[];
}

const wireTypeOf: Record<string, number> = {
  double: 1, fixed64: 1, sfixed64: 1,
  float: 5, fixed32: 5, sfixed32: 5,
  int32: 0, int64: 0, uint32: 0, uint64: 0, sint32: 0, sint64: 0, bool: 0, enum: 0,
  string: 2, bytes: 2, message: 2,
};

function buildDescriptors(root: protobuf.Root): Map<string, MessageDescriptor> {
  const out = new Map<string, MessageDescriptor>();
  const pending: Array<[FieldDescriptor, protobuf.Type]> = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const fields: FieldDescriptor[] = [];
        for (const field of nested.fieldsArray) {
          field.resolve();
          const resolved = field.resolvedType;
          const kind: FieldDescriptor['kind'] =
            resolved instanceof protobuf.Type ? 'message'
              : resolved instanceof protobuf.Enum ? 'enum'
                : (field.type as ScalarKind);
          const wireType = wireTypeOf[kind];
          if (wireType === undefined) throw new Error(`onnx.proto: unsupported field type '${field.type}'`);
          const packable = field.repeated && wireType !== 2;
          const descriptor: FieldDescriptor = {
            number: field.id,
            name: field.name,
            kind,
            repeated: field.repeated,
            packed: packable && field.packed,
            packable,
            wireType,
            message: undefined,
          };
          if (resolved instanceof protobuf.Type) pending.push([descriptor, resolved]);
          fields.push(descriptor);
        }
        fields.sort((a, b) => a.number - b.number);
        const fullName = nested.fullName.replace(/^\./, '');
        out.set(fullName, {
          name: fullName,
          fields,
          byNumber: new Map(fields.map((f) => [f.number, f])),
          repeatedNames: fields.filter((f) => f.repeated).map((f) => f.name),
        });
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  for (const [descriptor, type] of pending) {
    descriptor.message = out.get(type.fullName.replace(/^\./, ''));
  }
  return out;
}

let cache: Map<string, MessageDescriptor> | undefined;

/** Path of the schema file, valid from both `src/onnx` and `dist/onnx`. */
export const schemaPath = new URL('../../src/onnx/onnx.proto', import.meta.url);

/** The descriptor of an ONNX message, e.g. `messageDescriptor('ModelProto')`. */
export function messageDescriptor(name: string): MessageDescriptor {
  if (cache === undefined) {
    const root = protobuf.parse(readFileSync(schemaPath, 'utf8')).root;
    root.resolveAll();
    cache = buildDescriptors(root);
  }
  const descriptor = cache.get(name.startsWith('onnx.') ? name : `onnx.${name}`);
  if (descriptor === undefined) throw new Error(`onnx.proto has no message '${name}'`);
  return descriptor;
}
