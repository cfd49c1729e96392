#!/usr/bin/env node
// prebuildify always spawns "node-gyp rebuild ..."; pointing its --node-gyp at this script makes it
// build with the project's one build path (cmake-js) instead. prebuildify's own arguments are
// ignored; it then picks build/Release/kestrel.node up and copies it into prebuilds/<platform>-<arch>/.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
execFileSync(process.execPath, [cmakeJs, 'rebuild', '--directory', 'addon', '--out', 'build'], { cwd: root, stdio: 'inherit' });
