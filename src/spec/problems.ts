import { InvalidDocumentError, InvalidInputError } from '../core/errors.js';
import { formatPath, type FieldPath } from './field-path.js';
import { locate, type ParsedDocument } from './parse.js';

/** A problem at a field, thrown by evaluation helpers and caught where the task or loop is built. */
export class FieldError extends Error {
  constructor(
    readonly path: FieldPath,
    readonly problem: string,
  ) {
    super(`${formatPath(path)}: ${problem}`);
  }
}

const MAX_SHOWN = 50;

/**
 * Collects every problem found in the job document and orrery.yaml so the user sees them all
 * at once. Problems with the same key are reported once: a mistake in a loop body would
 * otherwise repeat for each of its thousands of iterations.
 */
export class Problems {
  private readonly list: InvalidInputError[] = [];
  private readonly seen = new Set<string>();

  /** Records a problem at a field of `doc` (null: a command-line flag, named by `path`). */
  add(
    doc: ParsedDocument | null,
    path: FieldPath,
    problem: string | (() => string),
    opts: { at?: 'key' | 'value'; once?: string } = {},
  ): void {
    // Without a document the "path" names a command-line flag, shown as written.
    const where = doc ? formatPath(path) : path.join(' ');
    const key = opts.once ?? `${doc?.file ?? ''}\0${where}\0${typeof problem === 'string' ? problem : ''}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const text = typeof problem === 'string' ? problem : problem();
    const file = doc?.file ?? '';
    this.list.push(new InvalidInputError(file, where, text, doc ? locate(doc, path, opts.at) : ''));
  }

  /** Records a FieldError once per field (the first iteration that hits it wins). */
  addFieldError(doc: ParsedDocument, error: FieldError, context = ''): void {
    const where = formatPath(error.path);
    this.add(doc, error.path, context ? `${error.problem} (${context})` : error.problem, {
      once: `${doc.file}\0${where}`,
    });
  }

  /** Throws what was collected: one InvalidInputError, or an InvalidDocumentError for several. */
  throwIfAny(): void {
    if (this.list.length === 0) return;
    if (this.list.length === 1) throw this.list[0];
    const shown = this.list.slice(0, MAX_SHOWN);
    if (this.list.length > MAX_SHOWN) {
      const rest = this.list.length - MAX_SHOWN;
      shown.push(new InvalidInputError(shown[0].file, '', `${rest} more problems not shown; fix the ones above first`));
    }
    throw new InvalidDocumentError(shown);
  }
}
