/**
 * Loads the versioned configuration: embedded defaults (config/default.yaml), then an optional
 * overlay file, then environment overrides (KESTREL__section__key=value), then schema validation.
 * Every failure is a ConfigError whose one-line message names the bad key and value.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { secretKeyPaths } from './secrets.js';
import { KestrelError } from '../contracts/errors.js';

export class ConfigError extends KestrelError {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super('CONFIG_INVALID', message);
  }
}

type Tree = Record<string, unknown>;

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository (or installed package) root: src/config and dist/src/config both resolve to it. */
export const projectRoot = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
export const defaultConfigPath = path.join(projectRoot, 'config', 'default.yaml');

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readYaml(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isTree(doc)) throw new ConfigError(`config file ${file} must be a YAML mapping at the top level`);
  return doc;
}

/** Overlay merge: mappings merge key by key, everything else (arrays included) replaces. */
export function mergeConfig(base: Tree, overlay: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    const b = out[k];
    out[k] = isTree(b) && isTree(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

/** Scalars from the environment are parsed as YAML so that numbers, booleans and lists keep their type. */
export function applyEnvOverrides(tree: Tree, env: NodeJS.ProcessEnv, prefix = 'KESTREL__'): Tree {
  let out = tree;
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    const keys = name.slice(prefix.length).toLowerCase().split('__').filter(Boolean);
    if (keys.length === 0) continue;
    let value: unknown;
    try {
      value = parseYaml(raw);
    } catch {
      value = raw;
    }
    let patch: unknown = value;
    for (let i = keys.length - 1; i >= 0; i--) patch = { [keys[i]!]: patch };
    out = mergeConfig(out, patch as Tree);
  }
  return out;
}

function describeValue(tree: Tree, keyPath: readonly PropertyKey[]): string {
  let cur: unknown = tree;
  for (const k of keyPath) {
    if (!isTree(cur) && !Array.isArray(cur)) return 'missing';
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur === undefined ? 'missing' : JSON.stringify(cur);
}

function firstIssue(error: z.ZodError, tree: Tree): ConfigError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const parent = issue.path.map(String).join('.');
    const key = [parent, issue.keys[0]].filter(Boolean).join('.');
    return new ConfigError(`config error: unknown key '${key}'`, key);
  }
  const key = issue.path.map(String).join('.');
  return new ConfigError(`config error: ${key || '(root)'}: ${issue.message} (got ${describeValue(tree, issue.path)})`, key);
}

export function validateConfig(tree: Tree): Config {
  // A secret in a config file leaks through backups, diffs and `config show`: refuse it by name.
  const secret = secretKeyPaths(tree)[0];
  if (secret !== undefined) {
    throw new ConfigError(
      `config error: '${secret}' looks like a secret; secrets are read only from the environment or *_FILE (see docs/OPERATIONS.md, Security)`,
      secret,
    );
  }
  const result = configSchema.safeParse(tree);
  if (!result.success) throw firstIssue(result.error, tree);
  return result.data;
}

export interface LoadOptions {
  /** Overlay file merged over the defaults. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Programmatic overrides, applied last (CLI flags). */
  overrides?: Tree;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  let tree = readYaml(defaultConfigPath);
  if (opts.file) tree = mergeConfig(tree, readYaml(opts.file));
  tree = applyEnvOverrides(tree, opts.env ?? process.env);
  if (opts.overrides) tree = mergeConfig(tree, opts.overrides);
  return validateConfig(tree);
}
