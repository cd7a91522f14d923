import { randomBytes } from 'node:crypto';
import type { HubClient } from './hub-client';

export interface BenchAdmin {
  accessToken: string;
  orgId: string;
}

/**
 * Bootstraps the fresh hub's first admin and organization and makes `client` send their token
 * and organization from then on.
 */
export async function bootstrapAdmin(client: HubClient, organizationName: string): Promise<BenchAdmin> {
  const secret = randomBytes(8).toString('hex');
  const admin = await client.expect(201, '/v1/auth/bootstrap', {
    json: {
      email: `bench-${secret}@bench.invalid`,
      password: `Lamp-${secret}-Orbit`,
      organization_name: organizationName,
    },
  });
  client.headers.authorization = `Bearer ${admin.access_token}`;
  client.headers['x-org-id'] = admin.organization.id;
  return { accessToken: admin.access_token as string, orgId: admin.organization.id as string };
}
