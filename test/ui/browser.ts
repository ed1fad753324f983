/** Debian's chromium driven by playwright-core (never a downloaded browser), and `orrery ui` as a subprocess. */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import type { Project } from '../helpers/cli.js';

export const CHROMIUM = process.env.ORRERY_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Resolves when `file` exists. */
export async function waitForFile(file: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `orrery ui` on a free port; resolves with the address it printed (with the admin token). */
export async function startUi(p: Project, ...args: string[]): Promise<{ url: string; process: ChildProcess }> {
  const child = p.start('ui', '--port', '0', ...args);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`orrery ui printed no address:\n${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`orrery ui exited with ${code}:\n${output}`)));
  });
  return { url, process: child };
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
