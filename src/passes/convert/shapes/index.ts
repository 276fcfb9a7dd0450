/**
 * Shape and element-type inference for the convert passes, and the
 * `--shape` pass that fixes input dims and writes the inferred shapes.
 */
export { setInputShapes, type InputShapeChange, type SetShapesReport, type SetShapesResult } from './set-input-shapes.js';
export { declaredType, hasShapeRule, inferGraphTypes, inferModelTypes, initializersOverridable, type InferOptions, type ModelTypes } from './infer-types.js';
export { constantNodeTensor, readKnownValue } from './node-attributes.js';
export { elementCountOf, formatShape, isStaticShape, MAX_KNOWN_VALUE_ELEMENTS, type Dim, type GraphTypes, type KnownValue, type ValueType } from './types.js';
