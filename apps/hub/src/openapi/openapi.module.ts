import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { checkAccessDeclarations } from './access-declarations';
import { OpenApiController } from './openapi.controller';
import { OpenApiService } from './openapi.service';

@Module({
  imports: [DiscoveryModule],
  controllers: [OpenApiController],
  providers: [OpenApiService],
  exports: [OpenApiService],
})
export class OpenApiModule implements OnApplicationBootstrap {
  constructor(private readonly discovery: DiscoveryService) {}

  /** Every route declares its access rule, and agrees with its `@ApiDoc` about being public. */
  onApplicationBootstrap(): void {
    checkAccessDeclarations(this.discovery);
  }
}
