/**
 * Prefixes of Hostplane's high-entropy secrets, so a leaked one is recognisable (secret
 * scanners) and the hub can tell which store to look in without a database hit.
 */
export const TOKEN_PREFIXES = {
  personalAccess: 'hp_pat_',
  agent: 'hp_agt_',
  registration: 'hp_reg_',
} as const;
