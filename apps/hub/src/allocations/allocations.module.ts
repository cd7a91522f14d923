import { Module } from '@nestjs/common';
import { AllocationsService } from './allocations.service';
import { NodeAllocationsController } from './node-allocations.controller';

@Module({
  providers: [AllocationsService],
  controllers: [NodeAllocationsController],
  exports: [AllocationsService],
})
export class AllocationsModule {}
