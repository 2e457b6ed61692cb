import { app, type HttpFunctionOptions } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';
import { createOperations } from '../../functions/src/routes.js';

describe('Azure Functions entry point (functions/src/index.ts)', () => {
  it('registers every operation of the route table with app.http, anonymous at the host (auth is in code)', async () => {
    const registered: { name: string; options: HttpFunctionOptions }[] = [];
    const timers: string[] = [];
    const spy = vi.spyOn(app, 'http').mockImplementation((name, options) => {
      registered.push({ name, options });
    });
    const timerSpy = vi.spyOn(app, 'timer').mockImplementation((name) => {
      timers.push(name);
    });
    const feeds: { name: string; options: Record<string, unknown> }[] = [];
    const feedSpy = vi.spyOn(app, 'cosmosDB').mockImplementation((name, options) => {
      feeds.push({ name, options: options as unknown as Record<string, unknown> });
    });
    try {
      await import('../../functions/src/index.js');
    } finally {
      spy.mockRestore();
      timerSpy.mockRestore();
      feedSpy.mockRestore();
    }
    expect(timers).toEqual(['runFleetInventory', 'reconcileDesiredState']);
    // Desired state is compiled from the change feed of `resources`, leases in `leases`, identity-based connection.
    expect(feeds).toHaveLength(1);
    expect(feeds[0]).toMatchObject({
      name: 'compileDesiredState',
      options: { connection: 'COSMOS', databaseName: 'fleetnet', containerName: 'resources', leaseContainerName: 'leases', createLeaseContainerIfNotExists: false },
    });
    expect(feeds[0]!.options.retry).toMatchObject({ strategy: 'exponentialBackoff' });
    const expected = createOperations(async () => {
      throw new Error('not called');
    }).map((op) => ({ name: op.operationId, methods: [op.method], route: op.route }));
    expect(registered.map(({ name, options }) => ({ name, methods: options.methods, route: options.route }))).toEqual(expected);
    expect(new Set(registered.map((r) => r.options.authLevel))).toEqual(new Set(['anonymous']));
  });
});
