// Lint: type-aware rules for src and test; floating promises and unused code are errors.
import js from '@eslint/js';
import { statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import tseslint from 'typescript-eslint';

/**
 * The layers of the engine, bottom to top (ARCHITECTURE.md): a file in
 * src/core/ may import its own layer and the layers below, never above. ''
 * is the files directly in src/core/ (errors.ts, format.ts, build.ts, …).
 */
export const CORE_LAYERS = [
  { name: 'base', rooms: ['', 'paths', 'fs', 'process', 'git', 'store', 'remotes'] },
  { name: 'manifest', rooms: ['manifest'] },
  { name: 'workspace', rooms: ['workspace'] },
  { name: 'datasets and pipelines', rooms: ['snapshots', 'pipelines'] },
  { name: 'environments and experiments', rooms: ['environments', 'experiments'] },
  { name: 'whole-workspace operations', rooms: ['operations', 'plots', 'dvc'] },
];
/** Rooms of one layer that stay apart: neither imports the other. */
const APART = [['snapshots', 'pipelines']];
/** What each face may import besides src/core (and itself); core imports no face. */
const FACES = { cli: ['server'], extension: [], server: [] };

const ROOT = import.meta.dirname;

/** Where a source file sits: its part of src/ (core or a face) and, in core, its room. */
function placeOf(file) {
  const parts = relative(ROOT, file).split(sep);
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  const part = parts[1];
  if (part !== 'core') return { part };
  // A file directly in src/core/ (or a folder import of src/core/ itself) is base.
  const isFolder = parts.length === 3 && statSync(file, { throwIfNoEntry: false })?.isDirectory() === true;
  const room = parts.length > 3 || isFolder ? parts[2] : '';
  return { part, room };
}

const layerOf = (room) => CORE_LAYERS.findIndex((layer) => layer.rooms.includes(room));
const roomName = (room) => (room === '' ? 'src/core/*.ts' : `src/core/${room}/`);

/** Why `from` may not import `to`, or undefined when it may. */
function violation(from, to, specifier) {
  if (specifier === 'vscode')
    return from.part === 'extension' ? undefined : 'only src/extension/ may import vscode';
  if (!to) return undefined;
  if (from.part === 'core') {
    if (to.part !== 'core') return `src/core/ imports no face (src/${to.part}/)`;
    const [own, other] = [layerOf(from.room), layerOf(to.room)];
    if (own === -1)
      return `${roomName(from.room)} is in no layer: add it to CORE_LAYERS in eslint.config.mjs`;
    if (other > own)
      return `${roomName(from.room)} (layer ${CORE_LAYERS[own].name}) may not import ${roomName(to.room)} (layer ${CORE_LAYERS[other].name}, above it)`;
    if (APART.some((pair) => pair.includes(from.room) && pair.includes(to.room) && from.room !== to.room))
      return `${roomName(from.room)} and ${roomName(to.room)} stay apart: move what both need to a layer below`;
    return undefined;
  }
  if (to.part === 'core' || to.part === from.part) return undefined;
  const allowed = FACES[from.part];
  if (allowed && !allowed.includes(to.part)) return `src/${from.part}/ may not import src/${to.part}/`;
  return undefined;
}

/** The layer rule: one table above, checked on every import, export-from and dynamic import. */
const layers = {
  meta: { type: 'problem', schema: [], messages: { layer: '{{why}} (see ARCHITECTURE.md).' } },
  create(context) {
    const from = placeOf(context.filename);
    if (!from) return {};
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string') return;
      const specifier = source.value;
      const to = specifier.startsWith('.')
        ? placeOf(resolve(dirname(context.filename), specifier))
        : undefined;
      const why = violation(from, to, specifier);
      if (why) context.report({ node, messageId: 'layer', data: { why } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.vscode-test/**', '.sluice/**', 'out/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { sluice: { rules: { layers } } },
    rules: { 'sluice/layers': 'error' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
        performance: 'readonly',
        setImmediate: 'readonly',
      },
    },
  },
);
