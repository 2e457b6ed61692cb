/**
 * Kernel loss counters (fn_counters: packets, bytes and new connections the datapath could not count
 * because fn_flows was full) → what was lost in one flow window.
 *
 * The kernel's counters are CUMULATIVE since its maps were created and never reset; the agent reports
 * differences. The last value accounted for is persisted with the spool (state.json), so a restarted
 * agent neither reports the same loss twice nor misses what was lost while it was down.
 *
 * Contract of `kernelLossDelta(previous, current)`:
 *   - previous unknown (a fresh spool, or one written before these counters existed): the whole current
 *     value is reported — losses of unknown time are reported in the first window, never hidden;
 *   - any counter below its previous value: the maps were re-created (counters restarted at 0), so the
 *     whole current value is new;
 *   - otherwise current − previous, field by field.
 * Over-reporting is possible (a crash between writing a batch and the spool state that records its
 * counters reports that window's loss again); under-reporting only when re-created maps have counted
 * past the old value before the first read.
 */

import type { KernelCounters } from '../kernel/codecs.js';

/** Cumulative kernel counters, as `Datapath.readCounters()` returns them (the codec's type). */
export type KernelLossCounters = KernelCounters;

/** What one window lost, in FlowSummaryBatch.lost's names. */
export interface KernelLoss {
  packets: number;
  bytes: number;
  flows: number;
}

export function kernelLossDelta(previous: KernelLossCounters | undefined, current: KernelLossCounters): KernelLoss {
  const whole = { packets: current.lostPackets, bytes: current.lostBytes, flows: current.lostFlows };
  if (!previous) return whole;
  if (current.lostPackets < previous.lostPackets || current.lostBytes < previous.lostBytes || current.lostFlows < previous.lostFlows) return whole;
  return { packets: current.lostPackets - previous.lostPackets, bytes: current.lostBytes - previous.lostBytes, flows: current.lostFlows - previous.lostFlows };
}

export const isKernelLoss = (loss: KernelLoss): boolean => loss.packets > 0 || loss.bytes > 0 || loss.flows > 0;

export const sameCounters = (a: KernelLossCounters | undefined, b: KernelLossCounters): boolean =>
  a !== undefined && a.lostPackets === b.lostPackets && a.lostBytes === b.lostBytes && a.lostFlows === b.lostFlows;
