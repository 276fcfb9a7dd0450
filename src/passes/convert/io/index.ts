/**
 * Where converted weights are stored: external data or inline.
 */
export { formatBytes, parseByteSize } from './byte-size.js';
export {
  decideDataLayout,
  DEFAULT_EXTERNAL_THRESHOLD_BYTES,
  externalDataLocation,
  type DataLayout,
  type DataLayoutFacts,
  type DataLayoutRequest,
} from './data-layout.js';
