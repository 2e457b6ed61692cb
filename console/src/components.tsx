/** Small pieces every view uses: loading data, showing a problem, badges, times. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiProblem } from './api.js';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change; the last call wins. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => current && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}

export function ProblemBox({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiProblem ? `${error.code} (HTTP ${error.status}): ${error.message}` : error instanceof Error ? error.message : String(error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export function Loading({ loaded, children }: { loaded: Loaded<unknown>; children: () => ComponentChildren }) {
  if (loaded.error) return <ProblemBox error={loaded.error} />;
  if (loaded.data === undefined) return <p class="muted">Loading…</p>;
  return <>{children()}</>;
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge v-${kind}`}>{children}</span>;
}

/** "3 min ago" (and the exact time as a tooltip). */
export function Ago({ at }: { at: string | undefined | null }) {
  if (!at) return <span class="muted">never</span>;
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000));
  const text = seconds < 90 ? `${seconds} s ago` : seconds < 5400 ? `${Math.round(seconds / 60)} min ago` : seconds < 172_800 ? `${Math.round(seconds / 3600)} h ago` : `${Math.round(seconds / 86_400)} d ago`;
  return <time dateTime={at} title={at}>{text}</time>;
}

export function Labels({ labels }: { labels: Record<string, string> | undefined }) {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return <span class="muted">none</span>;
  return <span class="mono">{entries.map(([k, v]) => `${k}=${v}`).join(', ')}</span>;
}

/** A table's column: its header text, or `numberColumn(text)` for a right-aligned number column. */
export type Column = string | { label: string; numeric: true };
export const numberColumn = (label: string): Column => ({ label, numeric: true });

/** The `<thead>` of a table: one `<th scope="col">` per column (class `num` for number columns). */
export function TableHead({ columns }: { columns: Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column, i) =>
          typeof column === 'string' ? (
            <th key={i} scope="col">
              {column}
            </th>
          ) : (
            <th key={i} scope="col" class="num">
              {column.label}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}
