/** The hub↔agent contract. Both sides import only this package from each other's world. */
export const PROTOCOL_VERSION = 1;
