// Structural validation of the YAML tree against the shipped JSON Schema:
// types, required keys, unknown keys (with a "did you mean"), names, enums.
import type { ManifestDiagnostic, QuickFix } from './diagnostics';
import { credentialKeyDiagnostic, isCredentialKey } from './remotes';
import { closestName } from './spelling';
import { describeSchema, manifestSchema, objectBranches, resolveSchema, type JsonSchema } from './schema';
import { nodeTypeName, type YNode, type YPair, type YScalar } from './yamlTree';

const VERSION_SCHEMA = manifestSchema.properties?.['version'];
/** What each pattern of the schema asks for, in words: "should look like `FILE#key`…". */
const PATTERN_WORDS: Readonly<Record<string, string>> = {
  '^[^#]+#[^#]+$': 'look like `FILE#key` (for example `metrics.json#accuracy`)',
  '^[A-Za-z0-9_][A-Za-z0-9._/-]*$':
    "be a git remote's name as `git remote` lists it (letters, digits, `.`, `_`, `-` and `/`, starting with a letter, digit or `_`)",
};

/** Validates the whole tree; an empty document is reported once. */
export function* validateStructure(
  root: YNode | null,
  out: ManifestDiagnostic[],
  textLength: number,
): Generator<void> {
  if (root === null) {
    out.push({
      severity: 'error',
      code: 'missing-required',
      message:
        'The manifest is empty. Start with `version: 1`, then declare datasets, pipelines and environments.',
      start: 0,
      end: Math.min(textLength, 1),
    });
    return;
  }
  yield* validateInSteps(root, manifestSchema, undefined, null, out, 2);
}

/**
 * Validates the top `levels` levels of mappings child by child, yielding after
 * each child of the deepest of them (each pipeline, each environment…): a
 * 5,000-stage manifest is checked in slices, not in one long block.
 */
function* validateInSteps(
  node: YNode | null,
  schema: JsonSchema,
  path: TreePath | undefined,
  owner: YPair | null,
  out: ManifestDiagnostic[],
  levels: number,
): Generator<void> {
  const resolved = resolveSchema(schema);
  if (levels === 0 || node?.kind !== 'map' || resolved.oneOf || resolved.type !== 'object') {
    validateNode(node, schema, path, owner, out);
    return;
  }
  for (const entry of mapEntries(node, resolved, path, owner, out)) {
    yield* validateInSteps(entry.value, entry.schema, entry.path, entry.pair, out, levels - 1);
    if (levels === 1) yield;
  }
}

/**
 * A path into the tree as a linked list: validation visits every node on each
 * keystroke, and most paths are only turned into words when something is wrong.
 */
interface TreePath {
  readonly parent: TreePath | undefined;
  readonly segment: string;
}

function child(path: TreePath | undefined, segment: string): TreePath {
  return { parent: path, segment };
}

function segments(path: TreePath | undefined): string[] {
  const result: string[] = [];
  for (let at = path; at; at = at.parent) result.push(at.segment);
  return result.reverse();
}

/** Where a path points, in words: "stage `train`", "environment `production`", "the manifest". */
export function describePath(path: readonly string[]): string {
  const [section, name, sub, subName] = path;
  if (section === 'datasets' && name !== undefined) return `dataset \`${name}\``;
  if (section === 'environments' && name !== undefined) return `environment \`${name}\``;
  if (section === 'remotes' && name !== undefined) return `remote \`${name}\``;
  if (section === 'pipelines' && name !== undefined) {
    if (sub === 'stages' && subName !== undefined) return `stage \`${subName}\``;
    if (sub === 'checks') return `a check of pipeline \`${name}\``;
    return `pipeline \`${name}\``;
  }
  return 'the manifest';
}

function expectedType(schema: JsonSchema): string {
  const resolved = resolveSchema(schema);
  if (resolved.oneOf) return resolved.oneOf.map(expectedType).join(' or ');
  if (resolved.enum) return resolved.enum.map((v) => `\`${String(v)}\``).join(' or ');
  switch (resolved.type) {
    case 'object':
      return 'a mapping';
    case 'array': {
      const item = resolved.items ? resolveSchema(resolved.items) : undefined;
      return item?.type === 'string' ? 'a list of names or paths' : 'a list';
    }
    case 'string':
      return 'text';
    case 'integer':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'boolean':
      return '`true` or `false`';
    case 'null':
      return 'nothing';
    default:
      return 'a value';
  }
}

function matchesType(node: YNode | null, type: JsonSchema['type']): boolean {
  if (type === undefined) return true;
  if (node === null) return type === 'null';
  switch (type) {
    case 'object':
      return node.kind === 'map';
    case 'array':
      return node.kind === 'seq';
    case 'string':
      return node.kind === 'scalar' && typeof node.value === 'string';
    case 'number':
      return node.kind === 'scalar' && typeof node.value === 'number';
    case 'integer':
      return node.kind === 'scalar' && typeof node.value === 'number' && Number.isInteger(node.value);
    case 'boolean':
      return node.kind === 'scalar' && typeof node.value === 'boolean';
    case 'null':
      return node.kind === 'scalar' && node.value === null;
  }
}

/** The first sentence of a description, for "needs `run`: the command it runs". */
function firstSentence(text: string | undefined): string {
  if (!text) return '';
  const end = text.search(/\.(\s|$)/);
  return end === -1 ? text : text.slice(0, end);
}

function validateNode(
  node: YNode | null,
  schema: JsonSchema,
  path: TreePath | undefined,
  /** The pair this node is the value of, for ranges when the node is empty. */
  owner: YPair | null,
  out: ManifestDiagnostic[],
): void {
  const resolved = resolveSchema(schema);
  if (resolved.oneOf) {
    validateOneOf(node, resolved, path, owner, out);
    return;
  }
  const at = node ?? owner?.key;
  const start = at?.start ?? 0;
  const end = at?.end ?? 0;
  // Words for messages are only made when there is something to say.
  const label = (): string => (owner ? `\`${String(owner.key.value)}\`` : 'The manifest');

  if (!matchesType(node, resolved.type)) {
    if (schema === VERSION_SCHEMA || resolved === VERSION_SCHEMA) {
      out.push(unsupportedVersion(node, start, end));
      return;
    }
    const fixes: QuickFix[] = [];
    if (resolved.type === 'array' && node?.kind === 'scalar' && typeof node.value === 'string') {
      fixes.push({
        title: `Make it a list: [${node.value}]`,
        edits: [{ start: node.start, end: node.end, newText: `[${node.value}]` }],
        preferred: true,
      });
    }
    const got = nodeTypeName(node);
    if (!owner) {
      out.push({
        severity: 'error',
        code: 'wrong-type',
        message: `The manifest should be a mapping of keys (\`version: 1\`, \`datasets:\`, \`pipelines:\`, …), not ${got}.`,
        start,
        end,
      });
      return;
    }
    out.push({
      severity: 'error',
      code: 'wrong-type',
      message:
        node === null
          ? `${label()} in ${describePath(segments(path?.parent))} is empty; it should be ${expectedType(resolved)}.`
          : `${label()} in ${describePath(segments(path?.parent))} should be ${expectedType(resolved)}, not ${got}.`,
      start,
      end,
      ...(fixes.length > 0 ? { fixes } : {}),
    });
    return;
  }
  if (node === null) return;

  if (node.kind === 'scalar') {
    validateScalar(node, resolved, schema, path, label, out);
  } else if (node.kind === 'seq' && resolved.items) {
    node.items.forEach((item, index) => {
      validateNode(item, resolved.items!, child(path, String(index)), owner, out);
    });
  } else if (node.kind === 'map') {
    validateMap(node, resolved, path, owner, out);
  }
}

function unsupportedVersion(node: YNode | null, start: number, end: number): ManifestDiagnostic {
  const empty = node === null || (node.kind === 'scalar' && node.value === null);
  const written = node?.kind === 'scalar' ? String(node.value) : nodeTypeName(node);
  return {
    severity: 'error',
    code: 'unsupported-version',
    message: empty
      ? '`version` is empty. Write `version: 1`.'
      : `This Sluice understands manifest version 1, not ${written}. Write \`version: 1\`.`,
    start,
    end,
    fixes: [{ title: 'Use version 1', edits: [{ start, end, newText: '1' }], preferred: true }],
  };
}

function validateScalar(
  node: YScalar,
  resolved: JsonSchema,
  schema: JsonSchema,
  path: TreePath | undefined,
  label: () => string,
  out: ManifestDiagnostic[],
): void {
  const where = (): string => describePath(segments(path?.parent));
  if (resolved.enum && !resolved.enum.includes(node.value as string | number | boolean)) {
    if (schema === VERSION_SCHEMA || resolved === VERSION_SCHEMA) {
      out.push(unsupportedVersion(node, node.start, node.end));
      return;
    }
    out.push({
      severity: 'error',
      code: 'invalid-value',
      message: `${label()} in ${where()} must be ${expectedType(resolved)}, not \`${String(node.value)}\`.`,
      start: node.start,
      end: node.end,
    });
    return;
  }
  if (typeof node.value === 'string') {
    if (resolved.minLength !== undefined && node.value.length < resolved.minLength) {
      out.push({
        severity: 'error',
        code: 'invalid-value',
        message: `${label()} in ${where()} must not be empty: ${firstSentence(describeSchema(schema)).toLowerCase()}.`,
        start: node.start,
        end: Math.max(node.end, node.start + 1),
      });
    } else if (resolved.pattern && !new RegExp(resolved.pattern, 'u').test(node.value)) {
      out.push({
        severity: 'error',
        code: 'invalid-value',
        message: `${label()} in ${where()} should ${PATTERN_WORDS[resolved.pattern] ?? `match ${resolved.pattern}`}, not \`${node.value}\`.`,
        start: node.start,
        end: node.end,
      });
    }
  }
  if (typeof node.value === 'number') {
    if (resolved.minimum !== undefined && node.value < resolved.minimum) {
      out.push({
        severity: 'error',
        code: 'invalid-value',
        message: `${label()} in ${where()} must be at least ${resolved.minimum}, not ${node.value}.`,
        start: node.start,
        end: node.end,
      });
    }
    if (resolved.exclusiveMinimum !== undefined && node.value <= resolved.exclusiveMinimum) {
      out.push({
        severity: 'error',
        code: 'invalid-value',
        message: `${label()} in ${where()} must be more than ${resolved.exclusiveMinimum}, not ${node.value}.`,
        start: node.start,
        end: node.end,
      });
    }
  }
}

function validateMap(
  node: Extract<YNode, { kind: 'map' }>,
  resolved: JsonSchema,
  path: TreePath | undefined,
  owner: YPair | null,
  out: ManifestDiagnostic[],
): void {
  for (const entry of mapEntries(node, resolved, path, owner, out)) {
    validateNode(entry.value, entry.schema, entry.path, entry.pair, out);
  }
}

/**
 * Checks a mapping's own keys (duplicates, unknown, required, names) and
 * hands out each value with the schema it must satisfy, for the caller to validate.
 */
function* mapEntries(
  node: Extract<YNode, { kind: 'map' }>,
  resolved: JsonSchema,
  path: TreePath | undefined,
  owner: YPair | null,
  out: ManifestDiagnostic[],
): Generator<{ value: YNode | null; schema: JsonSchema; path: TreePath; pair: YPair }> {
  const seen = new Map<string, YPair>();
  const properties = resolved.properties ?? {};
  const allowed = Object.keys(properties);
  for (const pair of node.pairs) {
    const key = String(pair.key.value);
    const earlier = seen.get(key);
    if (earlier) {
      out.push({
        severity: 'error',
        code: 'duplicate-key',
        message: `\`${key}\` appears twice in ${describePath(segments(path))}; YAML keeps only the first. Remove or rename one.`,
        start: pair.key.start,
        end: pair.key.end,
      });
      continue;
    }
    seen.set(key, pair);
    const declared = Object.prototype.hasOwnProperty.call(properties, key) ? properties[key] : undefined;
    if (declared) {
      yield { value: pair.value, schema: declared, path: child(path, key), pair };
      continue;
    }
    if (typeof resolved.additionalProperties === 'object') {
      if (resolved.propertyNames) validateName(pair.key, resolved.propertyNames, path, out);
      yield { value: pair.value, schema: resolved.additionalProperties, path: child(path, key), pair };
      continue;
    }
    // Free-form values (`vars`, an inline `foreach`): any key, any value.
    if (resolved.additionalProperties === true) continue;
    // A secret is refused for what it is, not as a misspelt key.
    if (isCredentialKey(key)) {
      out.push(credentialKeyDiagnostic(pair.key));
      continue;
    }
    const suggestion = closestName(
      key,
      allowed.filter((name) => !seen.has(name)),
    );
    out.push({
      severity: 'error',
      code: 'unknown-key',
      message: suggestion
        ? `Unknown key \`${key}\` in ${describePath(segments(path))}. Did you mean \`${suggestion}\`?`
        : `Unknown key \`${key}\` in ${describePath(segments(path))}. Allowed here: ${allowed.map((k) => `\`${k}\``).join(', ')}.`,
      start: pair.key.start,
      end: pair.key.end,
      ...(suggestion
        ? {
            fixes: [
              {
                title: `Change to \`${suggestion}\``,
                edits: [{ start: pair.key.start, end: pair.key.end, newText: suggestion }],
                preferred: true,
              },
            ],
          }
        : {}),
    });
  }
  for (const required of resolved.required ?? []) {
    if (seen.has(required)) continue;
    const anchor = owner?.key ?? node;
    const doc = firstSentence(describeSchema(properties[required] ?? {}));
    out.push({
      severity: 'error',
      code: 'missing-required',
      message: `${capitalize(describePath(segments(path)))} needs \`${required}\`${doc ? ` (${doc.charAt(0).toLowerCase()}${doc.slice(1)})` : ''}.`,
      start: anchor.start,
      end: anchor.kind === 'map' ? anchor.start + 1 : anchor.end,
    });
  }
}

function validateName(
  key: YScalar,
  schema: JsonSchema,
  path: TreePath | undefined,
  out: ManifestDiagnostic[],
): void {
  const resolved = resolveSchema(schema);
  const name = String(key.value);
  if (!resolved.pattern || new RegExp(resolved.pattern, 'u').test(name)) return;
  const kind = describePath(segments(child(path, name))).split(' ')[0] ?? 'name';
  const reserved = name === 'workspace' && segments(path)[0] === 'environments';
  out.push({
    severity: 'error',
    code: 'invalid-name',
    message: reserved
      ? '`workspace` is the name of your working tree; choose another name for this environment.'
      : `\`${name}\` is not a valid ${kind} name: use a letter, then letters, digits, \`_\` or \`-\`.`,
    start: key.start,
    end: key.end,
  });
}

function validateOneOf(
  node: YNode | null,
  resolved: JsonSchema,
  path: TreePath | undefined,
  owner: YPair | null,
  out: ManifestDiagnostic[],
): void {
  const branches = (resolved.oneOf ?? []).map(resolveSchema);
  const fitting = branches.filter((branch) => matchesType(node, branch.type));
  const where = (): string => describePath(segments(path?.parent));
  const start = node?.start ?? owner?.key.start ?? 0;
  const end = node?.end ?? owner?.key.end ?? 0;
  if (fitting.length === 0) {
    out.push({
      severity: 'error',
      code: 'wrong-type',
      message: `This entry in ${where()} should be ${expectedType(resolved)}, not ${nodeTypeName(node)}.`,
      start,
      end,
    });
    return;
  }
  if (fitting.length === 1 || node?.kind !== 'map') {
    validateNode(node, fitting[0]!, path, owner, out);
    return;
  }
  // Several object branches: the keys only one branch requires tell them apart (`run` or `metric`).
  const present = new Set(node.pairs.map((pair) => String(pair.key.value)));
  const distinctive = objectBranches(resolved).map((branch) =>
    (branch.required ?? []).filter((key) =>
      branches.every((other) => other === branch || !other.required?.includes(key)),
    ),
  );
  const chosen = fitting.filter((_, index) => distinctive[index]!.some((key) => present.has(key)));
  const alternatives = (joiner: string): string =>
    distinctive.map((keys) => keys.map((k) => `\`${k}\``).join(' and ')).join(joiner);
  if (chosen.length === 1) {
    validateNode(node, chosen[0]!, path, owner, out);
  } else if (chosen.length === 0) {
    // A stage names itself ("Stage `prepare` needs …") and is marked at its name, as other
    // missing keys are; a list entry is placed by its parent.
    const named = describePath(segments(path));
    const stage = named.startsWith('stage ');
    const anchor = stage && owner ? owner.key : undefined;
    out.push({
      severity: 'error',
      code: 'missing-required',
      message: `${stage ? capitalize(named) : `This entry in ${where()}`} needs ${alternatives(' or ')}.`,
      start: anchor?.start ?? node.start,
      end: anchor?.end ?? node.pairs[0]?.key.end ?? node.start + 1,
    });
  } else {
    out.push({
      severity: 'error',
      code: 'invalid-value',
      message: `This entry in ${where()} has both ${alternatives(' and ')}; keep one: each entry is one or the other.`,
      start: node.start,
      end: node.pairs[0]?.key.end ?? node.start + 1,
    });
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
