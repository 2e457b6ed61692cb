/**
 * `npm run build:console`: bundles the console (console/src, Preact + the views) with esbuild into static
 * files the API serves anonymously (functions/src/handlers/console.ts): dist/console/{index.html, app.js,
 * app.css, chunk-*.js (code loaded only when needed, e.g. MSAL in Entra mode), LICENSES.txt}.
 * Minified, ES2022, source maps beside the files. `--check` only type-checks (tsc -p console).
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const CONSOLE_SOURCE = fileURLToPath(new URL('../console/', import.meta.url));
export const CONSOLE_OUT = fileURLToPath(new URL('../dist/console/', import.meta.url));

export async function buildConsole(outdir = CONSOLE_OUT): Promise<{ bytes: Record<string, number> }> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: { app: `${CONSOLE_SOURCE}src/main.tsx` },
    bundle: true,
    splitting: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    outdir,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'external',
    metafile: true,
    logLevel: 'warning',
    tsconfig: `${CONSOLE_SOURCE}tsconfig.json`,
  });
  await copyFile(`${CONSOLE_SOURCE}index.html`, `${outdir}index.html`);
  await copyFile(`${CONSOLE_SOURCE}src/styles.css`, `${outdir}app.css`);
  const bytes = Object.fromEntries(Object.entries(result.metafile.outputs).map(([file, output]) => [file.slice(file.lastIndexOf('/') + 1), output.bytes]));
  await writeFile(`${outdir}build.json`, `${JSON.stringify({ builtAt: new Date().toISOString(), bytes }, null, 2)}\n`);
  return { bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { bytes } = await buildConsole();
  for (const [file, size] of Object.entries(bytes)) if (!file.endsWith('.map')) process.stdout.write(`${file}: ${(size / 1024).toFixed(1)} KiB\n`);
}
