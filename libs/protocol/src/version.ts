/**
 * Version of the hub↔agent protocol. The hub accepts agents whose version is in
 * [MIN_SUPPORTED_PROTOCOL_VERSION, PROTOCOL_VERSION]; anything else is refused with
 * `protocol_mismatch` and a message telling which side to upgrade.
 */
export const PROTOCOL_VERSION = 1;
export const MIN_SUPPORTED_PROTOCOL_VERSION = 1;

export function isSupportedProtocol(version: number): boolean {
  return Number.isInteger(version) && version >= MIN_SUPPORTED_PROTOCOL_VERSION && version <= PROTOCOL_VERSION;
}
