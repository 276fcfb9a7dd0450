/**
 * Reading and changing node attributes, for the opset adapters. Nodes given
 * to these helpers belong to the converter's private copy of the model, so
 * changing them in place is safe.
 */
import { makeAttribute, type AttrValue } from '../../../onnx/builder.js';
import { AttributeType, type AttributeProto, type NodeProto } from '../../../onnx/types.js';

const utf8 = new TextDecoder();

/** The attribute named `name`, if the node has it. */
export function findAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((attribute) => attribute.name === name);
}

/** Whether the node has an attribute named `name`. */
export function hasAttribute(node: NodeProto, name: string): boolean {
  return findAttribute(node, name) !== undefined;
}

/** An INT attribute as a number, or `fallback` when absent. */
export function intAttribute(node: NodeProto, name: string, fallback: number): number;
export function intAttribute(node: NodeProto, name: string): number | undefined;
export function intAttribute(node: NodeProto, name: string, fallback?: number): number | undefined {
  const attribute = findAttribute(node, name);
  return attribute?.i === undefined ? fallback : Number(attribute.i);
}

/** An INTS attribute as bigints, or undefined when absent. */
export function intsAttribute(node: NodeProto, name: string): bigint[] | undefined {
  const attribute = findAttribute(node, name);
  return attribute === undefined ? undefined : [...attribute.ints];
}

/** A FLOAT attribute, or `fallback` when absent. */
export function floatAttribute(node: NodeProto, name: string, fallback: number): number;
export function floatAttribute(node: NodeProto, name: string): number | undefined;
export function floatAttribute(node: NodeProto, name: string, fallback?: number): number | undefined {
  const attribute = findAttribute(node, name);
  return attribute?.f === undefined ? fallback : attribute.f;
}

/** A FLOATS attribute, or undefined when absent. */
export function floatsAttribute(node: NodeProto, name: string): number[] | undefined {
  const attribute = findAttribute(node, name);
  return attribute === undefined ? undefined : [...attribute.floats];
}

/** A STRING attribute decoded as UTF-8, or `fallback` when absent. */
export function stringAttribute(node: NodeProto, name: string, fallback: string): string;
export function stringAttribute(node: NodeProto, name: string): string | undefined;
export function stringAttribute(node: NodeProto, name: string, fallback?: string): string | undefined {
  const attribute = findAttribute(node, name);
  return attribute?.s === undefined ? fallback : utf8.decode(attribute.s);
}

/** Removes the attribute named `name` (if present). */
export function removeAttribute(node: NodeProto, name: string): void {
  node.attribute = node.attribute.filter((attribute) => attribute.name !== name);
}

/** Sets (adds or replaces) an attribute, keeping the position of a replaced one. */
export function setAttribute(node: NodeProto, name: string, value: AttrValue): void {
  const attribute = makeAttribute(name, value);
  const index = node.attribute.findIndex((existing) => existing.name === name);
  if (index >= 0) node.attribute[index] = attribute;
  else node.attribute.push(attribute);
}

/** Whether an attribute holds a reference to a function attribute rather than a value. */
export function isReference(attribute: AttributeProto | undefined): boolean {
  return attribute?.refAttrName !== undefined && attribute.refAttrName !== '';
}

/** The attribute's value in words, for refusal messages (e.g. `axis=3`, `mode='wrap'`). */
export function describeAttribute(attribute: AttributeProto): string {
  const name = attribute.name ?? '?';
  switch (attribute.type) {
    case AttributeType.INT: return `${name}=${String(attribute.i ?? 0n)}`;
    case AttributeType.FLOAT: return `${name}=${String(attribute.f ?? 0)}`;
    case AttributeType.STRING: return `${name}='${utf8.decode(attribute.s ?? new Uint8Array())}'`;
    case AttributeType.INTS: return `${name}=[${attribute.ints.join(', ')}]`;
    case AttributeType.FLOATS: return `${name}=[${attribute.floats.join(', ')}]`;
    default: return name;
  }
}

/** Sets input `index`, padding skipped optional inputs with `''`. */
export function setInput(node: NodeProto, index: number, name: string): void {
  while (node.input.length < index) node.input.push('');
  node.input[index] = name;
  trimOptionalInputs(node);
}

/** The input at `index`, or `''` when absent. */
export function inputAt(node: NodeProto, index: number): string {
  return node.input[index] ?? '';
}

/** Drops trailing empty (omitted) inputs. */
export function trimOptionalInputs(node: NodeProto): void {
  while (node.input.length > 0 && node.input[node.input.length - 1] === '') node.input.pop();
}

/** Drops trailing empty (omitted) outputs. */
export function trimOptionalOutputs(node: NodeProto): void {
  while (node.output.length > 1 && node.output[node.output.length - 1] === '') node.output.pop();
}
