/**
 * Named errors. Each message says what went wrong and what to do; the CLI maps the
 * class to an exit code (DESIGN.md: 2 invalid input, 3 infrastructure).
 */

/** A problem in something the user wrote: a job document, orrery.yaml, a flag. Exit 2. */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
  /**
   * @param file  the file at fault ('' when it is a command-line flag)
   * @param path  field path inside the file, e.g. "tasks[0].outputs.lightcurve"
   * @param problem what is wrong and what is expected
   * @param where optional "line 3, column 5"
   */
  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
    readonly where = '',
  ) {
    super(formatInvalid(file, path, problem, where));
  }
}

/** Several problems found in one document; reported together. */
export class InvalidDocumentError extends Error {
  override name = 'InvalidDocumentError';
  constructor(readonly problems: InvalidInputError[]) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

/** A database, file store or other service cannot be used. Exit 3. Never holds a password. */
export class InfrastructureError extends Error {
  override name = 'InfrastructureError';
}

/** A job, task or attempt named on the command line does not exist. Exit 2. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

function formatInvalid(file: string, path: string, problem: string, where: string): string {
  const place = [file, where].filter(Boolean).join(':');
  const field = path ? ` ${path}:` : '';
  return `${place || 'input'}:${field} ${problem}`;
}
