#!/usr/bin/env node
// the bundled program (scripts/build-cli.mjs): it starts faster than dist/cli/main.js
import { main } from '../dist/bundle/orrery.js';

process.exitCode = await main(process.argv.slice(2));
