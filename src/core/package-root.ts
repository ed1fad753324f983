/**
 * Where the package's own files are: its root is two directories above every module, in
 * src/<dir>/ (the tests), dist/<dir>/ (what tsc compiles) and dist/bundle/ (the bundled
 * command-line program, scripts/build-cli.mjs) alike.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A file of the package, by its path from the package root, e.g. `dist/ui`. */
export function packageFile(relative: string): string {
  return path.join(PACKAGE_ROOT, relative);
}

/** The version in the package's package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;
}
