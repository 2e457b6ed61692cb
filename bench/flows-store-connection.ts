import { DATABASE_ID } from '../functions/src/store/cosmos-layout.js';
import { connectToDatabase } from './controlplane-store.js';

/** A connection to a running embedded store by endpoint and (well-known emulator) key, on the default database with the SDK's defaults. */
export function connectToStore(endpoint: string, key: string): ReturnType<typeof connectToDatabase> {
  return connectToDatabase(endpoint, key, DATABASE_ID, false);
}
