import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessCache } from './access-cache';
import { AccessGuard } from './access.guard';
import { AccessState } from './access-state';
import { Authenticator } from './authenticator';
import { LiveConnections } from './live-connections';

/**
 * Authentication and authorization for every route: the global `AccessGuard`, the `Authenticator`
 * (JWT keyring, API tokens) and the cached `AccessState`. Other domains use the decorators in
 * access.decorators.ts, `@CurrentPrincipal()`, `inOrg()` and `AccessCache.invalidate`.
 */
@Global()
@Module({
  providers: [
    AccessCache,
    AccessState,
    Authenticator,
    AccessGuard,
    LiveConnections,
    { provide: APP_GUARD, useExisting: AccessGuard },
  ],
  exports: [AccessCache, AccessState, Authenticator, AccessGuard, LiveConnections],
})
export class AccessModule {}
