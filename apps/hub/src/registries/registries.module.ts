import { Module } from '@nestjs/common';
import { RegistriesController } from './registries.controller';
import { RegistriesService } from './registries.service';

@Module({
  providers: [RegistriesService],
  controllers: [RegistriesController],
  exports: [RegistriesService],
})
export class RegistriesModule {}
