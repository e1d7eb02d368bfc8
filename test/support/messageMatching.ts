// Faces (the CLI, the extension, the language server) branch on an outcome's
// `code` and `data`, never on the words of its message: wording changes, and a
// face that reads it breaks without a type error. This finds the ways code
// reads a message to decide something.

export interface MessageMatch {
  /** 1-based. */
  readonly line: number;
  readonly text: string;
  readonly rule: string;
}

/** Something that holds an error's words: `x.message`, `describeError(...)`, `String(error)`, `x.stderr`. */
const WORDS = String.raw`(?:[\w$?.[\]]*[\w$\]\)]\s*\??\.\s*(?:message|stderr)\b|describeError\s*\([^()]*\)|String\s*\(\s*(?:error|err|e|reason|cause)\s*\))`;
/** Reads of a string that decide on its content. */
const SEARCH = String.raw`(?:includes|startsWith|endsWith|match|matchAll|search|indexOf|lastIndexOf|localeCompare)`;
/** Calls that keep the string a string on the way (`.message.toLowerCase().includes(…)`). */
const KEEP = String.raw`(?:\s*\??\.\s*(?:toLowerCase|toUpperCase|toLocaleLowerCase|trim|trimStart|trimEnd|normalize)\s*\(\s*\))*`;

const RULES: readonly { readonly rule: string; readonly pattern: RegExp }[] = [
  { rule: 'searches a message', pattern: new RegExp(`${WORDS}${KEEP}\\s*\\??\\.\\s*${SEARCH}\\s*\\(`) },
  { rule: 'tests a regex against a message', pattern: new RegExp(`\\.\\s*(?:test|exec)\\s*\\(\\s*${WORDS}`) },
  { rule: 'asserts a message matches', pattern: new RegExp(`\\b(?:match|doesNotMatch)\\s*\\(\\s*${WORDS}`) },
  { rule: 'compares a message', pattern: new RegExp(`${WORDS}${KEEP}\\s*[!=]==?(?!>)`) },
  { rule: 'compares with a message', pattern: new RegExp(`[!=]==?\\s*${WORDS}`) },
  { rule: 'switches on a message', pattern: new RegExp(`switch\\s*\\(\\s*${WORDS}`) },
];

/** Source without comments: a comment may well say "never match on message text". */
function withoutComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Every place in `source` (TypeScript) that decides something from the words of a message. */
export function findMessageMatching(source: string): MessageMatch[] {
  const lines = withoutComments(source).split('\n');
  const found: MessageMatch[] = [];
  lines.forEach((text, index) => {
    for (const { rule, pattern } of RULES) {
      if (pattern.test(text)) found.push({ line: index + 1, text: text.trim(), rule });
    }
  });
  return found;
}
