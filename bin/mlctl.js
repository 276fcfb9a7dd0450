#!/usr/bin/env node
// Entry point of the installed CLI; all logic lives in the compiled dist/ tree.
import '../dist/cli/main.js';
