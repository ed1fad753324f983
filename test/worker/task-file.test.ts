/**
 * The task file is written over the one a recycled scratch directory kept: the code must
 * read exactly the new description, whatever the old one was.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTaskFile } from '../../src/worker/protocol.js';

describe('task file', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orrery-task-file-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds exactly the new description after a longer or a shorter old one', () => {
    const file = path.join(dir, '.orrery-task.json');
    writeTaskFile(file, JSON.stringify({ task: 'first', params: { note: 'x'.repeat(5000) } }));
    writeTaskFile(file, JSON.stringify({ task: 'second' }));
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ task: 'second' });
    writeTaskFile(file, JSON.stringify({ task: 'third', params: { note: 'y'.repeat(9000) } }));
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).params.note).toHaveLength(9000);
  });

  it('replaces a kept file that an earlier task made read-only', () => {
    const file = path.join(dir, '.orrery-task.json');
    fs.writeFileSync(file, '{"task": "old"}');
    fs.chmodSync(file, 0o444);
    writeTaskFile(file, '{"task": "new"}');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"task": "new"}');
  });
});
