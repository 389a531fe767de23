/// <reference types="vite/client" />
/**
 * Secrets are compared in constant time everywhere: a `===` on a hash, secret, token or code answers sooner the
 * earlier the first differing character, which lets a caller guess a secret one character at a time. This scans
 * every source file for an equality comparison whose operand is named like a secret and that is not a check
 * against a constant (a literal, undefined, null, a length, a typeof); each must go through
 * timingSafeEqualStrings or timingSafeEqualBytes (src/lib/crypto.ts) instead.
 */
import { describe, expect, it } from 'vitest';

const SOURCES = import.meta.glob<string>('../src/**/*.ts', { query: '?raw', import: 'default', eager: true });

const SECRET_NAME = /hash|secret|token|code|digest|signature|password/i;
const OPERATOR = /===|!==|==|!=/g;
const STOP = new Set([',', ';', '{', '}', '?', ':', '&', '|', '=', '<', '>']);

/**
 * The operand beside an operator at `from`, read towards `step` (-1 left, +1 right) until an unmatched bracket or
 * a delimiter outside brackets: `(await hotp(key, step)) === code` has the operands `(await hotp(key, step))` and
 * `code`.
 */
function operand(line: string, from: number, step: -1 | 1): string {
  const [open, close] = step === -1 ? ['(', ')'] : [')', '('];
  let depth = 0;
  let i = from;
  for (; i >= 0 && i < line.length; i += step) {
    const ch = line[i] as string;
    if (ch === close || ch === (step === -1 ? ']' : '[')) depth++;
    else if (ch === open || ch === (step === -1 ? '[' : ']')) {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && STOP.has(ch)) break;
  }
  const text = step === -1 ? line.slice(i + 1, from + 1) : line.slice(from, i);
  return text.trim().replace(/^(return|await|if)\s+/, '');
}

/** A constant, a shape check or a boolean: comparing with it reveals nothing secret. */
function isConstant(text: string): boolean {
  const bare = text.replace(/^!+/, '');
  return (
    // `(a === undefined) !== (b === undefined)` compares booleans; the inner comparisons are checked on their own.
    new RegExp(OPERATOR.source).test(bare) ||
    /^(undefined|null|true|false|-?\d[\d_]*)$/.test(bare) ||
    /^(['"\x60]).*\1$/.test(bare) ||
    /\.(length|byteLength|size)$/.test(bare) ||
    // A named constant, or a member of a constant table (`CLOSE_CODES.expired`).
    /^[A-Z][A-Z0-9_]*(\.[A-Za-z_$][\w$]*)*$/.test(bare) ||
    bare.startsWith('typeof ')
  );
}

/** Names in an operand, string literals left out. */
const names = (text: string) => text.replace(/(['"\x60]).*?\1/g, '').match(/[A-Za-z_$][\w$]*/g) ?? [];

function secretComparisons(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  const found: string[] = [];
  for (const line of code.split('\n')) {
    for (const match of line.matchAll(OPERATOR)) {
      const left = operand(line, match.index - 1, -1);
      const right = operand(line, match.index + match[0].length, 1);
      if (isConstant(left) || isConstant(right)) continue;
      if ([...names(left), ...names(right)].some((name) => SECRET_NAME.test(name))) {
        found.push(`${left} ${match[0]} ${right}`);
      }
    }
  }
  return found;
}

describe('secret comparisons', () => {
  it('finds a plain comparison of a secret, and leaves checks against constants alone', () => {
    expect(
      secretComparisons(
        [
          'if (hash === row.secretHash) return true;',
          'const ok = presented !== stored.tokenHash;',
          'const equal = (await hotp(key, step)) === code && fresh;',
          'if (proof.code !== undefined) {}',
          "if (code === 'ERR_JWT_EXPIRED') return;",
          'return canonical.length === CODE_LENGTH;',
          '// a comment: token === other',
        ].join('\n'),
      ),
    ).toStrictEqual([
      'hash === row.secretHash',
      'presented !== stored.tokenHash',
      '(await hotp(key, step)) === code',
    ]);
  });

  it('compares no secret with === anywhere in src', () => {
    const files = Object.entries(SOURCES);
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.flatMap(([path, source]) =>
      secretComparisons(source).map((comparison) => `${path}: ${comparison}`),
    );
    expect(offenders).toStrictEqual([]);
  });
});
