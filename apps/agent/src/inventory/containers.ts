import { z } from 'zod';
import type { containerInventory } from '@hostplane/protocol';
import { dockerEngineGet } from '../drivers/docker-engine';

export type ContainerInventory = z.infer<typeof containerInventory>;

const engineContainer = z.object({
  Id: z.string(),
  Names: z.array(z.string()).default([]),
  Image: z.string().default(''),
  State: z.string().default('unknown'),
  Status: z.string().default(''),
  Created: z.number().default(0),
});

/** Containers of the local Docker Engine, all states; null when no engine answers. */
export async function collectContainers(socketPath: string): Promise<ContainerInventory[] | null> {
  let body: unknown;
  try {
    body = await dockerEngineGet(socketPath, '/containers/json?all=1');
  } catch {
    return null;
  }
  const list = z.array(engineContainer).safeParse(body);
  if (!list.success) return null;
  return list.data.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''),
    image: c.Image,
    state: c.State,
    status: c.Status,
    created_at: new Date(c.Created * 1000).toISOString(),
  }));
}
