// The shipped JSON Schema (sluice.schema.json) is the normative description of
// manifest v1. This module reads it for everything structural: validation of
// types, required and unknown keys, and the docs shown in completion and hover.
// Only the keywords listed in SUPPORTED_KEYWORDS may appear in the schema; a
// test walks the schema to keep it that way.
import schemaJson from './sluice.schema.json';

export interface JsonSchema {
  readonly $schema?: string;
  readonly $id?: string;
  readonly $ref?: string;
  readonly title?: string;
  readonly description?: string;
  readonly type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly propertyNames?: JsonSchema;
  readonly items?: JsonSchema;
  readonly enum?: readonly (string | number | boolean)[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly oneOf?: readonly JsonSchema[];
  readonly default?: unknown;
  readonly definitions?: Readonly<Record<string, JsonSchema>>;
}

export const SUPPORTED_KEYWORDS: ReadonlySet<string> = new Set([
  '$schema',
  '$id',
  '$ref',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'items',
  'enum',
  'pattern',
  'minLength',
  'minimum',
  'exclusiveMinimum',
  'oneOf',
  'default',
  'definitions',
]);

export const manifestSchema = schemaJson as JsonSchema;

/** Follows `$ref`s into `definitions`. */
export function resolveSchema(schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 16; hops++) {
    const name = current.$ref.replace('#/definitions/', '');
    const target = manifestSchema.definitions?.[name];
    if (!target) throw new Error(`The manifest schema refers to a missing definition: ${current.$ref}`);
    current = target;
  }
  return current;
}

/** The sub-schema for a key of an object schema, or undefined when the key is not allowed. */
export function propertySchema(schema: JsonSchema, key: string): JsonSchema | undefined {
  const resolved = resolveSchema(schema);
  const declared = resolved.properties?.[key];
  if (declared) return declared;
  if (typeof resolved.additionalProperties === 'object') return resolved.additionalProperties;
  return undefined;
}

/** The object branches of a schema: itself, or the object alternatives of its `oneOf`. */
export function objectBranches(schema: JsonSchema): JsonSchema[] {
  const resolved = resolveSchema(schema);
  if (resolved.oneOf) return resolved.oneOf.map(resolveSchema).filter((branch) => branch.type === 'object');
  return resolved.type === 'object' ? [resolved] : [];
}

/** True when an object schema is a map of user-chosen names (datasets, stages, …). */
export function isNameMap(schema: JsonSchema): boolean {
  const resolved = resolveSchema(schema);
  return resolved.type === 'object' && typeof resolved.additionalProperties === 'object';
}

/** The schema's description of itself, following references when it has none. */
export function describeSchema(schema: JsonSchema): string | undefined {
  return schema.description ?? resolveSchema(schema).description;
}

/**
 * Walks the schema along a path of keys ('[]' for a list item). Name maps
 * accept any key. Returns undefined where the path leaves the schema.
 */
export function schemaAtPath(path: readonly string[]): JsonSchema | undefined {
  let schema: JsonSchema | undefined = manifestSchema;
  for (const segment of path) {
    if (!schema) return undefined;
    const resolved: JsonSchema = resolveSchema(schema);
    if (segment === '[]') {
      schema = resolved.items;
      continue;
    }
    schema = undefined;
    for (const branch of resolved.oneOf ? objectBranches(resolved) : [resolved]) {
      schema = propertySchema(branch, segment);
      if (schema) break;
    }
  }
  return schema;
}
