/**
 * core/policy declares the IP protocol numbers and orders port blocks on its own (it must not import the
 * agent's kernel layer); the kernel's map layouts declare the numbers and key lengths too. They must
 * agree. (Reserved identities are declared once, in core, and used by the kernel layer.)
 */
import { describe, expect, it } from 'vitest';

import { PROTOCOL_NUMBERS } from '../../../core/policy/unenforced-parts.js';
import { IpProto, PolicyPrefix } from '../kernel/identities.js';
import { policyPrefixLen } from '../kernel/codecs.js';
import { blockSpecificity } from '../../../core/policy/resolve/port-blocks.js';

describe('core constants equal the kernel\'s', () => {
  it('protocol numbers', () => {
    expect({ tcp: PROTOCOL_NUMBERS.TCP, udp: PROTOCOL_NUMBERS.UDP, icmp: PROTOCOL_NUMBERS.ICMP, icmpv6: PROTOCOL_NUMBERS.ICMPv6 }).toEqual({ tcp: IpProto.tcp, udp: IpProto.udp, icmp: IpProto.icmp, icmpv6: IpProto.icmpv6 });
  });

  it('block specificity orders blocks as the kernel\'s key lengths do', () => {
    const blocks = [{ proto: 0, port: 0, prefixLen: 0 }, { proto: 6, port: 0, prefixLen: 0 }, ...Array.from({ length: 16 }, (_, i) => ({ proto: 6, port: 0, prefixLen: i + 1 }))];
    expect(blocks.map((b) => policyPrefixLen({ localId: 300, peerId: 0, direction: 0, proto: b.proto, port: b.port, portPrefixLen: b.prefixLen }))).toEqual(blocks.map((b) => blockSpecificity(b) === 0 ? PolicyPrefix.anyProto : PolicyPrefix.anyPort + blockSpecificity(b) - 1));
  });
});
