import { describe, expect, it } from 'vitest';
import { createOperations } from '../../functions/src/routes.js';
import { specOperations } from '../helpers/contract-client.js';

describe('route table ⇔ openapi.yaml', () => {
  const served = createOperations(async () => {
    throw new Error('not called');
  }).map((op) => ({ method: op.method, path: `/${op.route}`, operationId: op.operationId }));
  const key = (op: { method: string; path: string; operationId: string }) => `${op.method} ${op.path} ${op.operationId}`;

  it('serves every operation of the spec', () => {
    const servedKeys = new Set(served.map(key));
    const missing = specOperations().filter((op) => !servedKeys.has(key(op)));
    expect(missing).toEqual([]);
  });

  it('serves nothing that is not in the spec', () => {
    const specKeys = new Set(specOperations().map(key));
    const extra = served.filter((op) => !specKeys.has(key(op)));
    expect(extra).toEqual([]);
  });

  it('registers each operation once', () => {
    const ids = served.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(20);
  });
});
