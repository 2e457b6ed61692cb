/**
 * ICMP fields (pkg/policy/api/icmp.go). Contracts: `family` defaults to IPv4; `type` is an integer
 * 0–255 or a CamelCase name known for that family (a numeric string is not a name, as in Cilium).
 */
import type { components, FieldError } from '../../../openapi/types.js';
import { appendPointer } from '../../json/json-pointer.js';

type IcmpField = NonNullable<components['schemas']['ICMPRule']['fields']>[number];

export const ICMP_TYPE_NAMES: Readonly<Record<'IPv4' | 'IPv6', Readonly<Record<string, number>>>> = {
  IPv4: {
    EchoReply: 0, DestinationUnreachable: 3, Redirect: 5, Echo: 8, EchoRequest: 8, RouterAdvertisement: 9,
    RouterSelection: 10, TimeExceeded: 11, ParameterProblem: 12, Timestamp: 13, TimestampReply: 14,
    Photuris: 40, ExtendedEchoRequest: 42, ExtendedEchoReply: 43,
  },
  IPv6: {
    DestinationUnreachable: 1, PacketTooBig: 2, TimeExceeded: 3, ParameterProblem: 4, EchoRequest: 128,
    EchoReply: 129, MulticastListenerQuery: 130, MulticastListenerReport: 131, MulticastListenerDone: 132,
    RouterSolicitation: 133, RouterAdvertisement: 134, NeighborSolicitation: 135, NeighborAdvertisement: 136,
    RedirectMessage: 137, RouterRenumbering: 138, ICMPNodeInformationQuery: 139, ICMPNodeInformationResponse: 140,
    InverseNeighborDiscoverySolicitation: 141, InverseNeighborDiscoveryAdvertisement: 142,
    HomeAgentAddressDiscoveryRequest: 144, HomeAgentAddressDiscoveryReply: 145, MobilePrefixSolicitation: 146,
    MobilePrefixAdvertisement: 147, DuplicateAddressRequestCodeSuffix: 157, DuplicateAddressConfirmationCodeSuffix: 158,
    ExtendedEchoRequest: 160, ExtendedEchoReply: 161,
  },
};

/** The numeric ICMP type of a field, or undefined when the field is invalid. */
export function resolveIcmpType(field: IcmpField): number | undefined {
  if (typeof field.type === 'number') {
    return Number.isInteger(field.type) && field.type >= 0 && field.type <= 255 ? field.type : undefined;
  }
  const names = ICMP_TYPE_NAMES[field.family ?? 'IPv4'];
  return Object.hasOwn(names, field.type) ? names[field.type] : undefined;
}

export function validateIcmpField(field: IcmpField, pointer: string): FieldError[] {
  if (resolveIcmpType(field) !== undefined) return [];
  const family = field.family ?? 'IPv4';
  const message =
    typeof field.type === 'number'
      ? `ICMP type ${field.type} must be an integer from 0 to 255`
      : `"${field.type}" is not an ${family} ICMP type name (known: ${Object.keys(ICMP_TYPE_NAMES[family]).join(', ')})`;
  return [{ pointer: appendPointer(pointer, 'type'), message, rule: 'icmp-type' }];
}
