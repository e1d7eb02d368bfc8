// A TOML 1.0 reader for the values files a DVC project names (params files
// and `vars`), so `import-dvc` can tell what a `${…}` expression stands for: a
// value, a list, or a table that DVC would unpack into flags. It reads every
// value (strings with their escapes, numbers, booleans, dates kept as text,
// arrays, inline tables, tables and arrays of tables); it does not enforce
// every rule against redefining a table, which only a writer of TOML needs.

/** A TOML file that cannot be read, with where (1-based). */
export class TomlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'TomlSyntaxError';
  }
}

type Table = Record<string, unknown>;

const BARE_KEY = /[A-Za-z0-9_-]/;
const ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  t: '\t',
  n: '\n',
  f: '\f',
  r: '\r',
  '"': '"',
  '\\': '\\',
};

export function parseToml(text: string): Table {
  return new TomlReader(text).document();
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class TomlReader {
  private at = 0;

  constructor(private readonly text: string) {}

  document(): Table {
    const root: Table = {};
    let current = root;
    for (;;) {
      this.skipBlank(true);
      if (this.at >= this.text.length) return root;
      if (this.text.startsWith('[[', this.at)) {
        this.at += 2;
        const path = this.keyPath();
        this.expect(']]');
        current = this.appendTable(root, path);
      } else if (this.text[this.at] === '[') {
        this.at += 1;
        const path = this.keyPath();
        this.expect(']');
        current = this.tableAt(root, path);
      } else {
        this.keyValue(current);
      }
      this.endOfLine();
    }
  }

  private keyValue(table: Table): void {
    const path = this.keyPath();
    this.skipSpaces();
    this.expect('=');
    this.skipSpaces();
    const value = this.value();
    const parent = this.tableAt(table, path.slice(0, -1));
    const key = path[path.length - 1]!;
    if (key in parent) this.fail(`'${path.join('.')}' is defined twice`);
    parent[key] = value;
  }

  /** The table at `path` under `root`, created where missing; the last entry of an array of tables. */
  private tableAt(root: Table, path: readonly string[]): Table {
    let table = root;
    for (const key of path) {
      let next = table[key];
      if (next === undefined) {
        next = {};
        table[key] = next;
      }
      if (Array.isArray(next)) next = next[next.length - 1];
      if (!isTable(next)) this.fail(`'${key}' is a value, not a table`);
      table = next;
    }
    return table;
  }

  private appendTable(root: Table, path: readonly string[]): Table {
    const parent = this.tableAt(root, path.slice(0, -1));
    const key = path[path.length - 1]!;
    const list = parent[key] ?? [];
    if (!Array.isArray(list)) this.fail(`'${path.join('.')}' is not an array of tables`);
    const table: Table = {};
    list.push(table);
    parent[key] = list;
    return table;
  }

  private keyPath(): string[] {
    const path: string[] = [];
    for (;;) {
      this.skipSpaces();
      path.push(this.key());
      this.skipSpaces();
      if (this.text[this.at] !== '.') return path;
      this.at += 1;
    }
  }

  private key(): string {
    const first = this.text[this.at];
    if (first === '"') return this.basicString();
    if (first === "'") return this.literalString();
    const start = this.at;
    while (this.at < this.text.length && BARE_KEY.test(this.text[this.at]!)) this.at += 1;
    if (this.at === start) this.fail('a key was expected');
    return this.text.slice(start, this.at);
  }

  private value(): unknown {
    const rest = this.text.slice(this.at, this.at + 3);
    if (rest === '"""') return this.multilineBasicString();
    if (rest === "'''") return this.multilineLiteralString();
    const first = this.text[this.at];
    if (first === '"') return this.basicString();
    if (first === "'") return this.literalString();
    if (first === '[') return this.array();
    if (first === '{') return this.inlineTable();
    return this.atom();
  }

  private array(): unknown[] {
    this.at += 1;
    const items: unknown[] = [];
    for (;;) {
      this.skipBlank(true);
      if (this.text[this.at] === ']') break;
      items.push(this.value());
      this.skipBlank(true);
      if (this.text[this.at] === ',') this.at += 1;
      else if (this.text[this.at] !== ']') this.fail("',' or ']' was expected in an array");
    }
    this.at += 1;
    return items;
  }

  private inlineTable(): Table {
    this.at += 1;
    const table: Table = {};
    this.skipSpaces();
    if (this.text[this.at] === '}') {
      this.at += 1;
      return table;
    }
    for (;;) {
      this.skipSpaces();
      this.keyValue(table);
      this.skipSpaces();
      const next = this.text[this.at];
      this.at += 1;
      if (next === '}') return table;
      if (next !== ',') this.fail("',' or '}' was expected in an inline table");
    }
  }

  /** A number, a boolean or a date (kept as its text). */
  private atom(): unknown {
    const start = this.at;
    const word = (): void => {
      while (this.at < this.text.length && !/[\s,\]}#]/.test(this.text[this.at]!)) this.at += 1;
    };
    word();
    // A date and a time may be separated by a space: `1979-05-27 07:32:00`.
    if (
      /^\d{4}-\d{2}-\d{2}$/.test(this.text.slice(start, this.at)) &&
      /^ \d{2}:/.test(this.text.slice(this.at, this.at + 4))
    ) {
      this.at += 1;
      word();
    }
    const token = this.text.slice(start, this.at);
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (/^[+-]?(inf|nan)$/.test(token))
      return token.includes('nan') ? NaN : token.startsWith('-') ? -Infinity : Infinity;
    const digits = token.replace(/_/g, '');
    if (/^0x[0-9a-fA-F]+$/.test(digits)) return parseInt(digits.slice(2), 16);
    if (/^0o[0-7]+$/.test(digits)) return parseInt(digits.slice(2), 8);
    if (/^0b[01]+$/.test(digits)) return parseInt(digits.slice(2), 2);
    if (/^[+-]?\d+$/.test(digits)) return Number(digits);
    if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(digits)) return Number(digits);
    if (
      /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$|^\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(
        token,
      )
    )
      return token;
    this.at = start;
    return this.fail(token === '' ? 'a value was expected' : `'${token}' is not a TOML value`);
  }

  private basicString(): string {
    this.at += 1;
    let value = '';
    for (;;) {
      const char = this.text[this.at];
      if (char === undefined || char === '\n') this.fail('the string is not closed');
      this.at += 1;
      if (char === '"') return value;
      value += char === '\\' ? this.escape() : char;
    }
  }

  private multilineBasicString(): string {
    this.at += 3;
    if (this.text[this.at] === '\n') this.at += 1;
    else if (this.text.startsWith('\r\n', this.at)) this.at += 2;
    let value = '';
    for (;;) {
      if (this.at >= this.text.length) this.fail('the string is not closed');
      if (this.text.startsWith('"""', this.at)) {
        // Up to two quotes may end the content right before the closing three.
        let end = this.at + 3;
        while (this.text[end] === '"' && end < this.at + 5) end += 1;
        value += '"'.repeat(end - this.at - 3);
        this.at = end;
        return value;
      }
      const char = this.text[this.at]!;
      this.at += 1;
      if (char !== '\\') {
        value += char;
        continue;
      }
      // A backslash at the end of a line trims the line break and the blanks after it.
      const trimmed = /^[ \t]*\r?\n[\s]*/.exec(this.text.slice(this.at));
      if (trimmed) this.at += trimmed[0].length;
      else value += this.escape();
    }
  }

  private literalString(): string {
    const end = this.text.indexOf("'", this.at + 1);
    const newline = this.text.indexOf('\n', this.at + 1);
    if (end === -1 || (newline !== -1 && newline < end)) this.fail('the string is not closed');
    const value = this.text.slice(this.at + 1, end);
    this.at = end + 1;
    return value;
  }

  private multilineLiteralString(): string {
    let start = this.at + 3;
    if (this.text[start] === '\n') start += 1;
    else if (this.text.startsWith('\r\n', start)) start += 2;
    let end = this.text.indexOf("'''", start);
    if (end === -1) this.fail('the string is not closed');
    while (this.text[end + 3] === "'" && end < this.text.length) end += 1;
    this.at = end + 3;
    return this.text.slice(start, end);
  }

  private escape(): string {
    const char = this.text[this.at];
    this.at += 1;
    if (char !== undefined && char in ESCAPES) return ESCAPES[char]!;
    if (char === 'u' || char === 'U') {
      const length = char === 'u' ? 4 : 8;
      const hex = this.text.slice(this.at, this.at + length);
      if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex)) this.fail('a bad \\u escape');
      this.at += length;
      return String.fromCodePoint(parseInt(hex, 16));
    }
    return this.fail(`'\\${char ?? ''}' is not an escape`);
  }

  private expect(token: string): void {
    if (!this.text.startsWith(token, this.at)) this.fail(`'${token}' was expected`);
    this.at += token.length;
  }

  private skipSpaces(): void {
    while (this.text[this.at] === ' ' || this.text[this.at] === '\t') this.at += 1;
  }

  /** Spaces and comments, and with `lines` line breaks too. */
  private skipBlank(lines: boolean): void {
    for (;;) {
      this.skipSpaces();
      const char = this.text[this.at];
      if (char === '#') {
        while (this.at < this.text.length && this.text[this.at] !== '\n') this.at += 1;
      } else if (lines && (char === '\n' || char === '\r')) {
        this.at += 1;
      } else {
        return;
      }
    }
  }

  private endOfLine(): void {
    this.skipBlank(false);
    if (this.at >= this.text.length) return;
    if (this.text[this.at] === '\r') this.at += 1;
    if (this.text[this.at] !== '\n') this.fail('a line break was expected');
  }

  private fail(message: string): never {
    const before = this.text.slice(0, this.at);
    const line = before.split('\n').length;
    const column = this.at - (before.lastIndexOf('\n') + 1) + 1;
    throw new TomlSyntaxError(message, line, column);
  }
}
