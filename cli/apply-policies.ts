/**
 * `fleetnet policy apply -f FILE`: fleet NetworkPolicies are PUT one by one; Cilium and Kubernetes
 * documents go, as written, in one `POST /networkpolicyimports`.
 *
 * Contracts:
 * - The file is parsed strictly first (read-policy-documents.ts): a syntax error or an empty file sends
 *   nothing.
 * - Every document is validated by the API before anything is written: fleet NetworkPolicies with
 *   `PUT …?dryRun=true` (the checks of the real PUT), the others by the import (all-or-nothing, run as a
 *   dry run when a fleet document was rejected). If any document is rejected, nothing is stored and the command fails with EXIT.INVALID —
 *   with `--dry-run` too.
 * - A document that would be enforced on every cluster of the fleet — a Cilium/Kubernetes document without
 *   `--cluster-selector` (unless `--mode audit`), a fleet policy without `spec.targets` (unless its mode is
 *   audit) — needs `--all-clusters`; without it nothing is sent and the command fails with EXIT.USAGE,
 *   dry runs included (a dry run predicts the real run).
 * - Output: one line per document in file order, `document N` being its 1-based position in the file,
 *   followed by a `warning:` line for each part the datapath will not enforce (the API's warnings).
 */
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, stringify as toYaml } from 'yaml';
import type { FieldError, ImportResult, NetworkPolicy, PolicyMode, PolicyWarning } from '../openapi/types.js';
import { ApiError, text, type ApiClient } from './api-client.js';
import { CliError, EXIT } from './exit-codes.js';
import type { CliIo } from './program.js';
import { readPolicyDocuments, type PolicyDocument } from './read-policy-documents.js';

export interface ApplyOptions {
  file: string;
  dryRun?: boolean;
  clusterSelector?: string;
  mode?: string;
  /** consent to enforce documents that name no clusters on every cluster */
  allClusters?: boolean;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFleetPolicy = (v: unknown): v is NetworkPolicy => isObject(v) && v.apiVersion === 'fleetnet.io/v1' && v.kind === 'NetworkPolicy';
const isList = (v: unknown): v is Obj & { items: unknown[] } => isObject(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);

/** `/spec/egress/0/toPorts` → `spec.egress[0].toPorts` (kubectl's field paths). */
export function describePointer(pointer: string): string {
  if (pointer === '') return '(document)';
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, token) => (/^\d+$/.test(token) ? `${path}[${token}]` : path === '' ? token : `${path}.${token}`), '');
}

export const describeErrors = (errors: readonly Pick<FieldError, 'pointer' | 'message'>[] | undefined): string =>
  (errors ?? []).map((e) => `\n    ${describePointer(e.pointer)}: ${e.message}`).join('');

/** The parts the datapath will not enforce, one indented line each (the API's `warnings`). */
export const describeWarnings = (warnings: readonly PolicyWarning[] | undefined): string =>
  (warnings ?? []).map((w) => `\n    warning: ${describePointer(w.pointer)}: ${w.message}`).join('');

const label = (doc: PolicyDocument): string => {
  const v = doc.value as Obj;
  const meta = isObject(v?.metadata) ? v.metadata : {};
  const name = typeof meta.name === 'string' ? `${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${meta.name}` : undefined;
  return `document ${doc.position}${typeof v?.kind === 'string' ? ` (${v.kind}${name ? ` ${name}` : ''})` : ''}`;
};

/** The file's text; `-` is standard input. */
export async function readInputFile(path: string, io: Pick<CliIo, 'stdin'>): Promise<string> {
  if (path === '-') {
    if (!io.stdin) throw new CliError('standard input is not available', EXIT.USAGE);
    return io.stdin();
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT.USAGE);
  }
}

/**
 * The import body: the documents' own text, joined so the API numbers them in the same order. Should the
 * joined text not parse back into the same documents (an exotic mix of directives and markers), the
 * documents are re-serialised instead.
 */
export function joinSources(docs: readonly PolicyDocument[]): string {
  let body = '';
  for (const doc of docs) {
    const piece = doc.source.endsWith('\n') ? doc.source : `${doc.source}\n`;
    if (body === '') body = piece;
    else if (piece.startsWith('---')) body += piece;
    else if (piece.startsWith('%')) body += `...\n${piece}`;
    else body += `---\n${piece}`;
  }
  const reparsed = parseAllDocuments(body);
  const same = Array.isArray(reparsed) && reparsed.length === docs.length && reparsed.every((d, i) => d.errors.length === 0 && isDeepStrictEqual(d.toJS(), docs[i]!.value));
  return same ? body : docs.map((d) => toYaml(d.value)).join('---\n');
}

export async function applyPolicies(client: ApiClient, io: CliIo, options: ApplyOptions): Promise<void> {
  const docs = readPolicyDocuments(await readInputFile(options.file, io), options.file === '-' ? '<stdin>' : options.file);
  const fleet = docs.filter((d) => isFleetPolicy(d.value));
  const others = docs.filter((d) => !isFleetPolicy(d.value));
  requireConsentForEveryCluster(fleet, others, options);
  const lines = new Map<number, string>();
  let rejected = 0;
  const dry = options.dryRun ? ' (dry run)' : '';

  // Fleet policies: the API validates each as its PUT would (`dryRun=true`), nothing stored yet.
  for (const doc of fleet) {
    const name = (doc.value as NetworkPolicy).metadata?.name;
    if (typeof name !== 'string' || name === '') {
      rejected++;
      lines.set(doc.position, `${label(doc)} rejected${dry}:${describeErrors([{ pointer: '/metadata/name', message: 'a fleet NetworkPolicy needs its name (it is the policy\'s URL)' }])}`);
      continue;
    }
    try {
      const checked = await client.call(client.api.PUT('/networkpolicies/{name}', { params: { path: { name }, query: { dryRun: true } }, body: doc.value as NetworkPolicy }));
      if (options.dryRun) lines.set(doc.position, `networkpolicy/${name} valid (dry run)${describeWarnings(checked.status?.warnings)}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 400)) throw error;
      rejected++;
      lines.set(doc.position, `${label(doc)} rejected${dry}:${describeErrors(error.problem?.errors ?? [{ pointer: '', message: error.problem?.detail ?? 'invalid' }])}`);
    }
  }

  if (others.length > 0) {
    // the API numbers documents from 0 in body order: a List's items and an array's rules one by one
    const parts = (d: PolicyDocument): unknown[] | undefined => (isList(d.value) ? d.value.items : Array.isArray(d.value) ? d.value : undefined);
    const owners = others.flatMap((d) => {
      const items = parts(d);
      return items && items.length > 0 ? items.map(() => d) : [d];
    });
    const query = {
      ...(options.dryRun || rejected > 0 ? { dryRun: true } : {}),
      ...(options.clusterSelector ? { clusterSelector: options.clusterSelector } : {}),
      ...(options.mode ? { mode: options.mode as PolicyMode } : {}),
    };
    let outcomes: ImportResult['documents'];
    try {
      const result = await client.call(client.api.POST('/networkpolicyimports', { params: { query }, body: joinSources(others), ...text('application/yaml') }));
      outcomes = result.documents;
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 400 && error.problem?.documents)) throw error;
      outcomes = error.problem.documents as ImportResult['documents'];
    }
    for (const o of outcomes) {
      const doc = owners[o.document];
      const position = doc?.position ?? -1;
      const where = doc ? ((parts(doc)?.length ?? 0) > 0 ? `${label(doc)} item ${o.document - owners.indexOf(doc) + 1}` : label(doc)) : 'a document';
      const previous = lines.get(position);
      let line: string;
      if (o.outcome === 'rejected') {
        rejected++;
        // the API's reason ends with its first error's pointer; the errors follow in words
        const reason = o.errors?.length ? (o.reason ?? 'invalid').split(/: \//)[0] : (o.reason ?? 'invalid');
        line = `${where} rejected${dry}: ${reason}${describeErrors(o.errors)}`;
      } else line = `networkpolicy/${o.policy?.metadata.name ?? '?'} ${o.outcome}${dry}${o.reason ? `: ${o.reason}` : ''}${describeWarnings(o.warnings)}`;
      lines.set(position, previous ? `${previous}\n${line}` : line);
    }
  }

  const print = () => {
    for (const position of [...lines.keys()].sort((a, b) => a - b)) io.out(`${lines.get(position)}\n`);
  };
  if (rejected > 0) {
    print();
    throw new CliError(`${rejected} document${rejected === 1 ? '' : 's'} of ${options.file} rejected; nothing was stored`, EXIT.INVALID);
  }
  if (!options.dryRun) {
    try {
      for (const doc of fleet) {
        const p = doc.value as NetworkPolicy;
        const { data: stored, response } = await client.answer(client.api.PUT('/networkpolicies/{name}', { params: { path: { name: p.metadata.name } }, body: p }));
        lines.set(doc.position, `networkpolicy/${p.metadata.name} ${response.status === 201 ? 'created' : 'applied'} (generation ${stored.metadata.generation})${describeWarnings(stored.status?.warnings)}`);
      }
    } finally {
      print();
    }
    return;
  }
  print();
}

/** Targets naming no cluster mean every cluster (core/policy/select-clusters.ts). */
const namesNoCluster = (targets: { clusterIds?: unknown; clusterSelector?: unknown } | undefined) => targets?.clusterIds === undefined && targets?.clusterSelector === undefined;

/** EXIT.USAGE unless every document enforced fleet-wide was meant so (`--all-clusters`). */
function requireConsentForEveryCluster(fleet: readonly PolicyDocument[], others: readonly PolicyDocument[], options: ApplyOptions): void {
  if (options.allClusters) return;
  const fleetWide = fleet.filter((doc) => {
    const spec = (doc.value as NetworkPolicy).spec as NetworkPolicy['spec'] | undefined;
    return isObject(spec) && spec.mode !== 'audit' && namesNoCluster(spec.targets);
  });
  const importedFleetWide = options.clusterSelector === undefined && options.mode !== 'audit' ? others : [];
  const all = [...fleetWide, ...importedFleetWide].sort((a, b) => a.position - b.position);
  if (all.length === 0) return;
  throw new CliError(
    `${all.map(label).join(', ')} would be enforced on every cluster of the fleet; ` +
      'name the clusters (--cluster-selector for Cilium/Kubernetes documents, spec.targets in a fleet policy) or pass --all-clusters to mean it',
    EXIT.USAGE,
  );
}
