/**
 * Upsample and Resize. Upsample was removed at 10 in favour of Resize-10
 * (same inputs); Resize-11 added `roi`/`sizes` and the coordinate-mapping
 * attributes, with defaults (half_pixel, round_prefer_floor) that differ from
 * what Resize-10 did (asymmetric; nearest pixel by truncation when enlarging,
 * by ceiling when shrinking, as ONNX Runtime implements it); Resize-13
 * dropped the tf_half_pixel_for_nn mapping.
 */
import { attrString } from '../../../../onnx/builder.js';
import type { NodeProto } from '../../../../onnx/types.js';
import {
  hasAttribute,
  inputAt,
  intAttribute,
  removeAttribute,
  setAttribute,
  stringAttribute,
  trimOptionalInputs,
} from '../attributes.js';
import type { AdapterContext } from '../types.js';
import { floatValues } from '../value-facts.js';
import { adapter, anchorOf, floatTensor, registration, type AdapterRegistration } from './helpers.js';

/** The constant scales of input `index`, or undefined when computed at run time. */
function constantScales(node: NodeProto, index: number, context: AdapterContext): number[] | undefined {
  const name = inputAt(node, index);
  const tensor = name === '' ? undefined : context.constantValue(name);
  return tensor === undefined ? undefined : floatValues(tensor);
}

const upsampleToResize = {
  ...adapter('Upsample → Resize', (node) => {
    node.opType = 'Resize';
    // Upsample-9 and Resize-10 take the same inputs (X, scales) and mode.
    return [node];
  }),
  replacesWith: 'Resize',
};

const resizeToUpsample = {
  ...adapter('Resize → Upsample', (node: NodeProto, context: AdapterContext) => {
    const scales = constantScales(node, 1, context);
    if (scales?.some((scale) => scale < 1) === true) {
      context.refuse(`it shrinks (scales [${scales.join(', ')}]), which Upsample cannot`);
    }
    if (scales === undefined) context.note('the scales are computed at run time; Upsample needs them all to be at least 1');
    node.opType = 'Upsample';
    return [node];
  }),
  replacesWith: 'Upsample',
};

const resize10To11 = adapter('Resize-10 → Resize-11 (roi input, asymmetric mapping)', (node: NodeProto, context: AdapterContext) => {
  const mode = stringAttribute(node, 'mode', 'nearest');
  const anchor = anchorOf(node);
  const roi = context.addConstant(`${anchor}_roi`, floatTensor([]));
  node.input = [inputAt(node, 0), roi, inputAt(node, 1)];
  setAttribute(node, 'coordinate_transformation_mode', attrString('asymmetric'));
  if (mode === 'nearest') {
    const scales = constantScales(node, 2, context);
    const changed = scales?.filter((scale) => scale !== 1);
    let nearestMode = 'floor';
    if (changed === undefined) {
      context.note('the scales are computed at run time: nearest pixels are taken as when enlarging (nearest_mode=floor)');
    } else if (changed.every((scale) => scale < 1) && changed.length > 0) {
      nearestMode = 'ceil';
    } else if (!changed.every((scale) => scale > 1)) {
      context.refuse(`it enlarges some axes and shrinks others (scales [${scales?.join(', ') ?? ''}]), which one nearest_mode cannot express`);
    }
    setAttribute(node, 'nearest_mode', attrString(nearestMode));
  }
  return [node];
});

const resize11To10 = adapter('Resize-11 → Resize-10', (node: NodeProto, context: AdapterContext) => {
  const mapping = stringAttribute(node, 'coordinate_transformation_mode', 'half_pixel');
  const mode = stringAttribute(node, 'mode', 'nearest');
  if (mapping !== 'asymmetric') context.refuse(`coordinate_transformation_mode='${mapping}' has no equivalent before opset 11 (only 'asymmetric')`);
  if (mode !== 'nearest' && mode !== 'linear') context.refuse(`mode='${mode}' did not exist before opset 11`);
  if (inputAt(node, 3) !== '') context.refuse('it resizes to given sizes, which Resize before opset 11 cannot');
  if (intAttribute(node, 'exclude_outside', 0) !== 0) context.refuse('exclude_outside=1 did not exist before opset 11');
  if (mode === 'nearest') {
    const nearestMode = stringAttribute(node, 'nearest_mode', 'round_prefer_floor');
    const scales = constantScales(node, 2, context)?.filter((scale) => scale !== 1);
    // Resize-10 truncates when enlarging and rounds up when shrinking.
    const floorFits = nearestMode === 'floor' && (scales === undefined || scales.every((scale) => scale > 1));
    const ceilFits = nearestMode === 'ceil' && scales !== undefined && scales.every((scale) => scale < 1);
    if (!floorFits && !ceilFits) {
      context.refuse(`nearest_mode='${nearestMode}' with ${scales === undefined ? 'scales computed at run time' : 'these scales'} has no equivalent before opset 11`);
    }
    if (scales === undefined) context.note('the scales are computed at run time: Resize-10 matches nearest_mode=floor only when enlarging');
  }
  node.input = [inputAt(node, 0), inputAt(node, 2)];
  for (const name of ['coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value']) {
    removeAttribute(node, name);
  }
  return [node];
});

/**
 * tf_half_pixel_for_nn maps x to (x + 0.5) / scale; half_pixel maps it to
 * that minus 0.5. For nearest sampling the half-pixel offset moves into the
 * rounding: floor(y) = round_prefer_ceil(y - 0.5) and
 * round_prefer_floor(y) = ceil(y - 0.5).
 */
const tfHalfPixelRemoved = adapter('tf_half_pixel_for_nn → half_pixel', (node: NodeProto, context: AdapterContext) => {
  if (stringAttribute(node, 'coordinate_transformation_mode') !== 'tf_half_pixel_for_nn') return undefined;
  const mode = stringAttribute(node, 'mode', 'nearest');
  const nearestMode = stringAttribute(node, 'nearest_mode', 'round_prefer_floor');
  const equivalent: Record<string, string> = { floor: 'round_prefer_ceil', round_prefer_floor: 'ceil' };
  const replacement = equivalent[nearestMode];
  if (mode !== 'nearest' || replacement === undefined) {
    context.refuse(`coordinate_transformation_mode='tf_half_pixel_for_nn' with mode='${mode}' and nearest_mode='${nearestMode}' has no equivalent from opset 13 on`);
  }
  setAttribute(node, 'coordinate_transformation_mode', attrString('half_pixel'));
  setAttribute(node, 'nearest_mode', attrString(replacement));
  return [node];
});

const optionalRoiScalesFilled = adapter('omitted roi/scales → empty inputs', (node: NodeProto, context: AdapterContext) => {
  if (inputAt(node, 1) !== '' && inputAt(node, 2) !== '') return undefined;
  if (inputAt(node, 2) === '' && inputAt(node, 3) === '') context.refuse('it has neither scales nor sizes');
  const anchor = anchorOf(node);
  for (const [index, suffix] of [[1, 'roi'], [2, 'scales']] as const) {
    if (inputAt(node, index) === '') {
      while (node.input.length <= index) node.input.push('');
      node.input[index] = context.addConstant(`${anchor}_${suffix}`, floatTensor([]));
    }
  }
  trimOptionalInputs(node);
  return [node];
});

const resize18Down = adapter('antialias/axes/keep_aspect_ratio_policy removed', (node: NodeProto, context: AdapterContext) => {
  if (intAttribute(node, 'antialias', 0) !== 0) context.refuse('antialias=1 did not exist before opset 18');
  if (hasAttribute(node, 'axes')) context.refuse('it resizes a subset of axes (axes attribute), which Resize before opset 18 cannot');
  const policy = stringAttribute(node, 'keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') context.refuse(`keep_aspect_ratio_policy='${policy}' did not exist before opset 18`);
  if (!['antialias', 'keep_aspect_ratio_policy'].some((name) => hasAttribute(node, name))) return undefined;
  removeAttribute(node, 'antialias');
  removeAttribute(node, 'keep_aspect_ratio_policy');
  return [node];
});

const resize19Down = adapter('half_pixel_symmetric check', (node: NodeProto, context: AdapterContext) => {
  if (stringAttribute(node, 'coordinate_transformation_mode') === 'half_pixel_symmetric') {
    context.refuse("coordinate_transformation_mode='half_pixel_symmetric' did not exist before opset 19");
  }
  return undefined;
});

/** The adapters of this group. */
export const resizeAdapters: readonly AdapterRegistration[] = [
  registration('Upsample', 10, 'up', upsampleToResize),
  registration('Resize', 10, 'down', resizeToUpsample),
  registration('Resize', 11, 'up', resize10To11),
  registration('Resize', 11, 'down', resize11To10),
  registration('Resize', 13, 'up', tfHalfPixelRemoved),
  registration('Resize', 13, 'down', optionalRoiScalesFilled),
  registration('Resize', 18, 'down', resize18Down),
  registration('Resize', 19, 'down', resize19Down),
];
