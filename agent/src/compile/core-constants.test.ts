/**
 * core/policy/resolve declares Cilium's reserved identity numbers and the IP protocol numbers on its
 * own (it must not import the agent's kernel layer); the kernel's map layouts declare them too. They
 * must be the same numbers.
 */
import { describe, expect, it } from 'vitest';

import { ReservedId } from '../../../core/policy/resolve/reserved-identities.js';
import { PROTOCOL_NUMBERS } from '../../../core/policy/unenforced-parts.js';
import { IpProto, PolicyPrefix, ReservedIdentity } from '../kernel/identities.js';
import { blockSpecificity } from '../../../core/policy/resolve/port-blocks.js';
import { blockBits } from './merge-entries.js';

describe('core constants equal the kernel\'s', () => {
  it('reserved identities', () => {
    expect(ReservedId).toEqual(ReservedIdentity);
  });

  it('protocol numbers', () => {
    expect({ tcp: PROTOCOL_NUMBERS.TCP, udp: PROTOCOL_NUMBERS.UDP, icmp: PROTOCOL_NUMBERS.ICMP, icmpv6: PROTOCOL_NUMBERS.ICMPv6 }).toEqual({ tcp: IpProto.tcp, udp: IpProto.udp, icmp: IpProto.icmp, icmpv6: IpProto.icmpv6 });
  });

  it('block specificity orders blocks as the kernel\'s key lengths do', () => {
    const blocks = [{ proto: 0, port: 0, prefixLen: 0 }, { proto: 6, port: 0, prefixLen: 0 }, ...Array.from({ length: 16 }, (_, i) => ({ proto: 6, port: 0, prefixLen: i + 1 }))];
    expect(blocks.map(blockBits)).toEqual(blocks.map((b) => blockSpecificity(b) === 0 ? PolicyPrefix.anyProto : PolicyPrefix.anyPort + blockSpecificity(b) - 1));
  });
});
