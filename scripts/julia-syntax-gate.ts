/**
 * Julia syntax gate: parses every .jl file under the given roots (default: julia/, sysimage/ and bench/)
 * with the tree-sitter-julia grammar (wasm, through web-tree-sitter) and fails on any ERROR or
 * MISSING node, printing file:line:col. This machine has no Julia runtime, so this is the check
 * that keeps the Julia sources parseable between runs on a host that has Julia.
 *
 * CLI: npx tsx scripts/julia-syntax-gate.ts [root ...]
 * Exit codes: 0 clean, 1 syntax problems (or no .jl file found), 2 gate could not run.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Language, Parser, type Node } from 'web-tree-sitter';

export interface SyntaxProblem {
  file: string;
  /** 1-based, as editors show it. */
  line: number;
  /** 1-based. */
  column: number;
  kind: 'ERROR' | 'MISSING';
  /** For MISSING: the node type the parser had to invent; for ERROR: the offending source text. */
  detail: string;
}

export interface GateReport {
  files: string[];
  problems: SyntaxProblem[];
}

export class JuliaGateSetupError extends Error {
  readonly code = 'JULIA_GATE_SETUP';
  constructor(message: string) {
    super(message);
    this.name = 'JuliaGateSetupError';
  }
}

const require = createRequire(import.meta.url);

function grammarWasmPath(): string {
  // Resolve through the package so a hoisted or nested node_modules both work.
  const pkgJson = require.resolve('tree-sitter-julia/package.json');
  return path.join(path.dirname(pkgJson), 'tree-sitter-julia.wasm');
}

let parserPromise: Promise<Parser> | undefined;

async function juliaParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    const wasm = grammarWasmPath();
    try {
      await stat(wasm);
    } catch {
      throw new JuliaGateSetupError(`tree-sitter-julia grammar wasm not found at ${wasm}`);
    }
    await Parser.init();
    const language = await Language.load(wasm);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

/** All .jl files under the roots, sorted so that output order is stable. */
export async function collectJuliaFiles(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  async function walk(p: string): Promise<void> {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new JuliaGateSetupError(`path does not exist: ${p}`);
    }
    if (st.isFile()) {
      if (p.endsWith('.jl')) out.push(p);
      return;
    }
    if (!st.isDirectory()) return;
    const entries = await readdir(p, { withFileTypes: true });
    for (const e of entries) {
      // Build products and package-manager caches are not sources.
      if (e.name === 'node_modules' || e.name === '.git' || e.name === 'build') continue;
      await walk(path.join(p, e.name));
    }
  }
  for (const r of roots) await walk(r);
  return [...new Set(out)].sort();
}

/** Problems in one source text; `file` is used only for reporting. */
export async function checkJuliaSource(file: string, source: string): Promise<SyntaxProblem[]> {
  const parser = await juliaParser();
  const tree = parser.parse(source);
  if (tree === null) {
    return [{ file, line: 1, column: 1, kind: 'ERROR', detail: 'parser returned no tree' }];
  }
  const problems: SyntaxProblem[] = [];
  try {
    if (!tree.rootNode.hasError) return problems;
    // Iterative walk: deep Julia expressions could otherwise exhaust the JS stack.
    const stack: Node[] = [tree.rootNode];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.isMissing) {
        problems.push({
          file,
          line: node.startPosition.row + 1,
          column: node.startPosition.column + 1,
          kind: 'MISSING',
          detail: `missing ${node.type}`,
        });
        continue;
      }
      if (node.isError) {
        const text = node.text.split('\n')[0] ?? '';
        problems.push({
          file,
          line: node.startPosition.row + 1,
          column: node.startPosition.column + 1,
          kind: 'ERROR',
          detail: text.length > 60 ? `${text.slice(0, 60)}…` : text,
        });
        // Keep descending: an ERROR can contain the MISSING node that explains it.
      }
      if (!node.hasError) continue;
      const children = node.children;
      for (let i = children.length - 1; i >= 0; i--) {
        const c = children[i];
        if (c) stack.push(c);
      }
    }
  } finally {
    tree.delete();
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return problems;
}

export async function runJuliaSyntaxGate(roots: readonly string[]): Promise<GateReport> {
  const files = await collectJuliaFiles(roots);
  const problems: SyntaxProblem[] = [];
  for (const f of files) {
    const src = await readFile(f, 'utf8');
    problems.push(...(await checkJuliaSource(f, src)));
  }
  return { files, problems };
}

export function formatProblem(p: SyntaxProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.kind} ${p.detail}`;
}

async function main(argv: string[]): Promise<number> {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const roots =
    argv.length > 0
      ? argv.map((a) => path.resolve(a))
      : [path.join(repoRoot, 'julia'), path.join(repoRoot, 'sysimage'), path.join(repoRoot, 'bench')];
  let report: GateReport;
  try {
    report = await runJuliaSyntaxGate(roots);
  } catch (e) {
    process.stderr.write(`julia-syntax-gate: ${(e as Error).message}\n`);
    return 2;
  }
  const rel = (f: string) => path.relative(process.cwd(), f) || f;
  if (report.files.length === 0) {
    // A gate that checked nothing must not pass: an empty glob usually means a wrong root.
    process.stderr.write(`julia-syntax-gate: no .jl files under ${roots.map(rel).join(', ')}\n`);
    return 1;
  }
  for (const p of report.problems) process.stderr.write(`${formatProblem({ ...p, file: rel(p.file) })}\n`);
  if (report.problems.length > 0) {
    process.stderr.write(
      `julia-syntax-gate: ${report.problems.length} problem(s) in ${new Set(report.problems.map((p) => p.file)).size} of ${report.files.length} file(s)\n`,
    );
    return 1;
  }
  process.stdout.write(`julia-syntax-gate: ${report.files.length} file(s) parsed clean\n`);
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`julia-syntax-gate: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(2);
    },
  );
}
