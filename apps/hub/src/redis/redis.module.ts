import { Global, Module } from '@nestjs/common';
import { ClusterBus } from './cluster-bus';
import { RedisService } from './redis.service';

@Global()
@Module({ providers: [RedisService, ClusterBus], exports: [RedisService, ClusterBus] })
export class RedisModule {}
