/**
 * The two process launchers, for tests that run against both: the native one compiled from
 * src/worker/launcher.c for this test file (so it is always the current source, built or
 * not), and the Node one. Without a C compiler only the Node one is listed; the test of the
 * build (launcher.test.ts) fails if a compiler was there and the native one was not built.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseLauncher, type LauncherProgram } from '../../src/worker/launcher-client.js';

const ROOT = path.resolve(__dirname, '../..');

/** Whether the C compiler that `npm run build` uses is on this machine. */
export const hasCompiler = spawnSync(process.env.CC || 'cc', ['--version'], { stdio: 'ignore' }).status === 0;

function compileNativeLauncher(): string | null {
  if (!hasCompiler || process.platform !== 'linux') return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-launcher-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'launcher');
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-launcher.mjs'), out], { encoding: 'utf8' });
  if (build.status !== 0 || !fs.existsSync(out)) throw new Error(`compiling src/worker/launcher.c failed:\n${build.stdout}${build.stderr}`);
  return out;
}

export const nativeLauncher = compileNativeLauncher();

export const launchers: Array<{ name: string; program: LauncherProgram }> = [
  ...(nativeLauncher ? [{ name: 'native', program: chooseLauncher('native', nativeLauncher) }] : []),
  { name: 'node', program: chooseLauncher('node') },
];
