/**
 * Waits until a topology has stopped sending on its own. Right after createTopology() the kernel
 * sends unsolicited MLDv2 reports (ICMPv6 143, behind a hop-by-hop header) for the solicited-node
 * groups of every new IPv6 address, repeated for about 2 s. They are not neighbor discovery, so the
 * programs count them on a managed endpoint; a suite that asserts exact counts (or the loss counters,
 * which cannot be filtered) first lets them pass while its endpoints are managed.
 */
import type { Datapath } from '../../agent/src/kernel/datapath.js';

/** Reads and resets fn_flows until nothing was counted for `quietMs`; throws after `maxMs`. */
export async function waitForQuietFlows(dp: Datapath, quietMs = 1000, maxMs = 10_000): Promise<void> {
  const t0 = Date.now();
  dp.readAndResetFlows();
  let lastSeen = Date.now();
  while (Date.now() - lastSeen < quietMs) {
    if (Date.now() - t0 > maxMs) throw new Error(`flows still counted after ${maxMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
    if (dp.readAndResetFlows().length > 0) lastSeen = Date.now();
  }
}
