/**
 * Compiles what `npm run build:ts` compiles (tsconfig.build.json: the API, the agent and the CLI), plus
 * `extraSources` (e.g. a bench's own server), into a scratch directory inside the repo — .fleetnet/<prefix>…,
 * so node_modules and openapi/ resolve from the output. The output has dist/'s layout
 * (`<outDir>/cli/fleetnet.js`); `remove()` deletes the directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('../..', import.meta.url).pathname;

export function compileToScratch(prefix: string, extraSources: readonly string[] = []): { outDir: string; remove: () => void } {
  mkdirSync(join(repo, '.fleetnet'), { recursive: true });
  const dir = mkdtempSync(join(repo, '.fleetnet', prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const build = JSON.parse(readFileSync(join(repo, 'tsconfig.build.json'), 'utf8')) as { include: string[]; exclude: string[] };
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(repo, 'tsconfig.build.json'),
      compilerOptions: { outDir: join(dir, 'out'), rootDir: repo },
      include: [...build.include, ...extraSources].map((glob) => join(repo, glob)),
      exclude: build.exclude.map((glob) => join(repo, glob)),
    }),
  );
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd: repo, stdio: 'inherit' });
  } catch (error) {
    remove();
    throw error;
  }
  return { outDir: join(dir, 'out'), remove };
}
