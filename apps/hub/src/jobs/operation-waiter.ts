import { Injectable, OnModuleInit } from '@nestjs/common';
import { ClusterBus } from '../redis/cluster-bus';
import type { OperationEntity } from './operation.entity';
import { OPERATIONS_TOPIC, OperationsService } from './operations.service';

/**
 * `GET /v1/operations/{id}/wait`: parks the request on an in-process promise, woken by the
 * bus message any replica publishes when the operation finishes. While parked it holds no
 * database connection and no worker; the row is read once before and once after.
 */
@Injectable()
export class OperationWaiter implements OnModuleInit {
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(
    private readonly operations: OperationsService,
    private readonly bus: ClusterBus,
  ) {}

  onModuleInit(): void {
    this.bus.on(OPERATIONS_TOPIC, (m) => {
      if (typeof m.opId !== 'string') return;
      const set = this.waiting.get(m.opId);
      if (!set) return;
      this.waiting.delete(m.opId);
      for (const wake of set) wake();
    });
  }

  get parked(): number {
    let n = 0;
    for (const s of this.waiting.values()) n += s.size;
    return n;
  }

  async wait(orgId: string, id: string, timeoutSeconds: number): Promise<OperationEntity> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    // Registered before the first read, so a completion between the read and the wait is not missed.
    let set = this.waiting.get(id);
    if (!set) this.waiting.set(id, (set = new Set()));
    set.add(wake);
    let timer: NodeJS.Timeout | undefined;
    try {
      const op = await this.operations.getInOrg(orgId, id);
      if (OperationsService.isFinal(op.status)) return op;
      await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, timeoutSeconds * 1000)))]);
      return await this.operations.getInOrg(orgId, id);
    } finally {
      if (timer) clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0 && this.waiting.get(id) === set) this.waiting.delete(id);
    }
  }
}
