/**
 * The command table: `mlctl --help` lists these in this order. Adding a
 * command is one module exporting a `defineCommand(...)` plus one line here.
 */
import type { RegisteredCommand } from '../command-definition.js';
import { benchCommand } from './bench.js';
import { convertCommand } from './convert.js';
import { inspectCommand } from './inspect.js';
import { pruneCommand } from './prune.js';
import { quantizeCommand } from './quantize.js';
import { serveCommand } from './serve.js';

export const commands: readonly RegisteredCommand[] = [inspectCommand, convertCommand, quantizeCommand, pruneCommand, benchCommand, serveCommand];
