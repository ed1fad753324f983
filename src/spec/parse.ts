import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument as parseYaml } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { InvalidInputError } from '../core/errors.js';
import type { FieldPath } from './field-path.js';

/** A parsed job document or orrery.yaml: its data plus what is needed to point at a field. */
export interface ParsedDocument {
  /** The file name used in messages (as the user gave it). */
  readonly file: string;
  /** Plain JSON-like data (YAML 1.2 core schema; JSON is YAML). */
  readonly data: unknown;
  readonly yaml: Document;
  readonly lines: LineCounter;
}

/** Parses YAML or JSON. A syntax error becomes an InvalidInputError with its line and column. */
export function parseDocument(file: string, text: string): ParsedDocument {
  const lines = new LineCounter();
  const yaml = parseYaml(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const error = yaml.errors[0];
  if (error) {
    const { line, col } = lines.linePos(error.pos[0]);
    throw new InvalidInputError(file, '', `invalid YAML/JSON: ${error.message}`, `line ${line}, column ${col}`);
  }
  let data: unknown;
  try {
    data = yaml.toJS({ maxAliasCount: 1000 });
  } catch (cause) {
    throw new InvalidInputError(file, '', `invalid YAML/JSON: ${(cause as Error).message}`);
  }
  return { file, data, yaml, lines };
}

/**
 * "line L, column C" of the node at a field path ('' when unknown). With `at: 'key'` it points
 * at the key of the last segment (for unknown keys). A path that goes deeper than the document
 * points at the deepest node that exists.
 */
export function locate(doc: ParsedDocument, path: FieldPath, at: 'key' | 'value' = 'value'): string {
  let node: unknown = doc.yaml.contents;
  let offset = rangeStart(node);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc.yaml);
    const segment = path[i];
    let next: unknown;
    let keyNode: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment));
      if (pair) {
        keyNode = pair.key;
        next = pair.value;
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined && keyNode === undefined) break;
    const isLast = i === path.length - 1;
    const target = isLast && at === 'key' && keyNode !== undefined ? keyNode : (next ?? keyNode);
    offset = rangeStart(target) ?? offset;
    node = next;
  }
  if (offset === undefined) return '';
  const { line, col } = doc.lines.linePos(offset);
  return `line ${line}, column ${col}`;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return range ? range[0] : undefined;
}
