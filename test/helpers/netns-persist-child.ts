/**
 * Child process for the persistence test: loads the datapath into pinDir, writes the given map
 * entries, attaches the endpoints, prints the attach results as one JSON line and EXITS — so the
 * test can show enforcement outlives the process that set it up.
 *
 * argv[2]: JSON {pinDir, netnsPath, endpoints: EndpointEntry[], ipcache: IpcacheEntry[], policy: PolicyEntry[]}
 */
import type { EndpointEntry, IpcacheEntry, PolicyEntry } from '../../agent/src/kernel/codecs.js';
import { Datapath } from '../../agent/src/kernel/datapath.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  pinDir: string;
  netnsPath: string;
  endpoints: EndpointEntry[];
  ipcache: IpcacheEntry[];
  policy: PolicyEntry[];
};
const dp = new Datapath({ pinDir: spec.pinDir, netnsPath: spec.netnsPath, attachMode: 'tcx' });
const load = dp.load();
dp.upsertIpcache(spec.ipcache);
dp.upsertPolicy(spec.policy);
const attached = spec.endpoints.map((e) => dp.attachEndpoint(e));
dp.close();
process.stdout.write(`${JSON.stringify({ reusedMaps: load.reusedMaps, attached })}\n`);
