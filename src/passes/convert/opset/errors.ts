/**
 * The error the opset converter throws when some nodes have no equivalent in
 * the target opset. It lists every such node, so one run tells the user all
 * that stands in the way.
 */
import { MlctlError } from '../../../common/errors.js';
import type { ConversionFailure } from './types.js';

/** Shown in full in the message; the rest are counted (all are in `failures`). */
const listedFailures = 20;

function describeFailure(failure: ConversionFailure): string {
  return `${failure.node} in ${failure.graphPath} at opset ${failure.step}: ${failure.reason}`;
}

/** Some nodes cannot be converted to the target opset (code `MLCTL_UNSUPPORTED`, exit 3). */
export class OpsetConversionError extends MlctlError {
  /** Every node that could not be converted. */
  readonly failures: readonly ConversionFailure[];

  constructor(label: string, fromOpset: number, toOpset: number, failures: readonly ConversionFailure[]) {
    const shown = failures.slice(0, listedFailures).map(describeFailure).join('; ');
    const more = failures.length > listedFailures ? `; and ${failures.length - listedFailures} more` : '';
    const count = failures.length === 1 ? '1 node has' : `${failures.length} nodes have`;
    super(
      'MLCTL_UNSUPPORTED',
      `cannot convert '${label}' from opset ${fromOpset} to ${toOpset}: ${count} no equivalent: ${shown}${more}`,
      { hint: 'choose another target opset, or change the listed nodes in the source model' },
    );
    this.failures = failures;
  }
}
