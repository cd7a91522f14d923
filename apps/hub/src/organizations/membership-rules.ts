import { Role, roleRank } from '../access/permissions';

/**
 * Who may change whose membership, as plain rules: nobody acts on a member ranked above them
 * or hands out a role above their own, and an organization never loses its last owner.
 * `actor` null = a platform admin, who ranks as an owner.
 */
export type MembershipProblem = { kind: 'escalation'; message: string } | { kind: 'last_owner' } | null;

export function roleChangeProblem(actor: Role | null, target: Role, next: Role, ownerCount: number): MembershipProblem {
  const a = actor === null ? roleRank('owner') : roleRank(actor);
  if (roleRank(target) > a) return { kind: 'escalation', message: `only an owner can change the role of an ${target}` };
  if (roleRank(next) > a)
    return { kind: 'escalation', message: `you cannot make someone ${next}: it is above your own role (${actor})` };
  if (target === 'owner' && next !== 'owner' && ownerCount <= 1) return { kind: 'last_owner' };
  return null;
}

export function removalProblem(actor: Role | null, target: Role, ownerCount: number): MembershipProblem {
  const a = actor === null ? roleRank('owner') : roleRank(actor);
  if (roleRank(target) > a) return { kind: 'escalation', message: `only an owner can remove an ${target}` };
  if (target === 'owner' && ownerCount <= 1) return { kind: 'last_owner' };
  return null;
}

export function inviteProblem(actor: Role | null, role: Role): MembershipProblem {
  const a = actor === null ? roleRank('owner') : roleRank(actor);
  if (roleRank(role) > a)
    return {
      kind: 'escalation',
      message: `you cannot invite someone as ${role}: it is above your own role (${actor})`,
    };
  return null;
}
