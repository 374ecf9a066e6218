#!/usr/bin/env node
// Entry point of the `ciku` CLI: runs the TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../scripts/cli/ciku.ts');
