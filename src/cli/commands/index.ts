/**
 * The command table: `mlctl --help` lists these in this order. Adding a
 * command is one module exporting a `defineCommand(...)` plus one line here.
 */
import type { RegisteredCommand } from '../command-definition.js';
import { inspectCommand } from './inspect.js';

export const commands: readonly RegisteredCommand[] = [inspectCommand];
