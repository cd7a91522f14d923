import { Global, Module } from '@nestjs/common';
import { PeriodicWork } from './periodic-work';

@Global()
@Module({ providers: [PeriodicWork], exports: [PeriodicWork] })
export class PeriodicModule {}
