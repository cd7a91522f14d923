import { Global, Module } from '@nestjs/common';
import { USER_SESSIONS, type UserSessions } from '../users/user-sessions.port';
import { revokeUserSessions } from './session-store';

const userSessions: UserSessions = { revokeAll: revokeUserSessions };

/** Provides the users domain's `USER_SESSIONS`. Global: auth sits above users and imports it. */
@Global()
@Module({ providers: [{ provide: USER_SESSIONS, useValue: userSessions }], exports: [USER_SESSIONS] })
export class UserSessionsModule {}
