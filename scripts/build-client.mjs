// Builds the browser client (client/src/index.ts).
//   node scripts/build-client.mjs            dist/client/signaling-client.js, the ES module the example
//                                            pages load from /client/signaling-client.js (`npm run build`)
//   node scripts/build-client.mjs --package  client/dist/, what `npm pack` in client/ ships: the same
//                                            bundle plus declaration files (client/package.json prepack)
// Browser tests run the first so they never use a stale bundle; the package test runs `npm pack`.
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const clientDir = join(root, 'client');
const entry = join(clientDir, 'src', 'index.ts');

/** Where the served bundle is written. */
export const clientBundlePath = join(root, 'dist', 'client', 'signaling-client.js');

/** Where the package's build output is written (client/package.json points into it). */
export const clientPackageDist = join(clientDir, 'dist');

/**
 * Builds the served bundle and its source map. Files are written under temporary names and renamed
 * into place, so a server serving the directory (or a parallel build) never sees half a file.
 */
export async function buildClient({ outfile = clientBundlePath } = {}) {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    write: false,
  });
  // The client has no dependencies: a package in the bundle means client code imported a value from
  // a server module that uses one (zod, say), which would ship the server's code to browsers.
  const packages = Object.keys(result.metafile.inputs).filter((input) => input.includes('node_modules'));
  if (packages.length > 0)
    throw new Error(`the client bundle must not contain packages: ${packages.join(', ')}`);
  mkdirSync(dirname(outfile), { recursive: true });
  const suffix = `.${process.pid}.${Date.now()}.tmp`;
  for (const file of result.outputFiles) {
    writeFileSync(file.path + suffix, file.contents);
    renameSync(file.path + suffix, file.path);
  }
  return outfile;
}

/**
 * Builds the installable package into `outDir`: `index.js` (the bundle) and `types/` (declarations
 * by tsc), and copies the repository's LICENSE beside client/package.json.
 */
export async function buildClientPackage({ outDir = clientPackageDist } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  await buildClient({ outfile: join(outDir, 'index.js') });
  emitDeclarations(join(outDir, 'types'));
  copyFileSync(join(root, 'LICENSE'), join(clientDir, 'LICENSE'));
}

/**
 * Emits declarations for the client and the server modules it imports, with the repository as root
 * dir, so `types/client/src/index.d.ts` reaches `types/src/signaling/*.d.ts` by the same relative
 * imports as the sources. A server module that imports a package (protocol.ts defines its wire types
 * with zod) is compiled as a type-only view: its types, expanded to plain TypeScript, without the
 * schemas. So the declarations import no package and type-check for users without zod or @types/node.
 */
function emitDeclarations(outDir) {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
    },
  );
  const options = {
    ...config.options,
    rootDir: root,
    outDir,
    types: [],
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
  };
  const views = new Map();
  const host = cachingHost(options, views);
  // The server modules as they are (with Node's types, which protocol.ts uses), to read their types.
  const program = ts.createProgram([entry], { ...options, types: config.options.types }, host);
  fail(ts.getPreEmitDiagnostics(program));
  const checker = program.getTypeChecker();
  for (const file of program.getSourceFiles()) {
    if (!file.isDeclarationFile && !file.fileName.startsWith(`${clientDir}/`) && importsPackage(file))
      views.set(file.fileName, typeOnlyView(file, checker));
  }
  // The package as users see it: no Node types, so client code cannot lean on Node globals either.
  const declarations = ts.createProgram([entry], options, host);
  fail(ts.getPreEmitDiagnostics(declarations));
  fail(declarations.emit().diagnostics);
  for (const file of listFiles(outDir)) {
    const text = readFileSync(file, 'utf8');
    const bare = [...text.matchAll(/(?:\bfrom |\bimport\()['"]([^.'"][^'"]*)['"]/g)].map((match) => match[1]);
    if (bare.length > 0) throw new Error(`${relative(root, file)} imports packages: ${bare.join(', ')}`);
  }
}

/** A compiler host that parses each file once for both programs and serves `views` instead of sources. */
function cachingHost(options, views) {
  const host = ts.createCompilerHost(options);
  const parsed = new Map();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const view = views.get(fileName);
    if (view !== undefined) return ts.createSourceFile(fileName, view, languageVersion, true);
    if (!parsed.has(fileName)) parsed.set(fileName, getSourceFile(fileName, languageVersion, ...rest));
    return parsed.get(fileName);
  };
  return host;
}

function importsPackage(file) {
  return file.statements.some(
    (statement) => ts.isImportDeclaration(statement) && !statement.moduleSpecifier.text.startsWith('.'),
  );
}

/**
 * The module's relative imports (as type imports), its interfaces and its type aliases, each with its
 * doc comment. An alias that refers to a package or to a value (`z.infer<typeof schema>`) is replaced
 * by the type the checker resolves it to, the object type it stands for; the others stay as written.
 */
function typeOnlyView(file, checker) {
  const printer = ts.createPrinter();
  const flags = ts.NodeBuilderFlags.NoTruncation | ts.NodeBuilderFlags.InTypeAlias;
  const fromPackages = new Set();
  const lines = [
    `// Type-only view of ${relative(root, file.fileName)}, generated by scripts/build-client.mjs.`,
  ];
  for (const statement of file.statements) {
    const leading = file.text.slice(statement.getFullStart(), statement.getStart()).trim();
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause.getText(file).replace(/^type /, '');
      if (!statement.moduleSpecifier.text.startsWith('.')) {
        for (const name of clause.match(/[A-Za-z_$][\w$]*/g)) fromPackages.add(name);
      } else lines.push(`import type ${clause} from ${statement.moduleSpecifier.getText(file)};`);
    } else if (ts.isInterfaceDeclaration(statement)) {
      lines.push(leading, statement.getText(file));
    } else if (ts.isTypeAliasDeclaration(statement)) {
      const written = statement.getText(file);
      if (!statement.typeParameters && refersToValues(statement.type, fromPackages)) {
        const node = checker.typeToTypeNode(checker.getTypeAtLocation(statement.name), statement, flags);
        const type = printer.printNode(ts.EmitHint.Unspecified, node, file);
        lines.push(leading, `${written.slice(0, written.indexOf('=') + 1)} ${type};`);
      } else lines.push(leading, written);
    }
  }
  return lines.filter(Boolean).join('\n');
}

/** Whether a type node mentions a value (`typeof x`) or a name imported from a package. */
function refersToValues(node, fromPackages) {
  if (ts.isTypeQueryNode(node)) return true;
  if (ts.isIdentifier(node) && fromPackages.has(node.text)) return true;
  return ts.forEachChild(node, (child) => refersToValues(child, fromPackages)) ?? false;
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function fail(diagnostics) {
  if (diagnostics.length === 0) return;
  const format = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  throw new Error(`client declarations:\n${ts.formatDiagnostics(diagnostics, format)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (process.argv.includes('--package')) await buildClientPackage();
  else await buildClient();
}
