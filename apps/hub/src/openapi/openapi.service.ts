import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig } from '../config/load-config';
import { HUB_VERSION } from '../version';
import { buildOpenApiDocument, collectRoutes, DocumentedRoute } from './openapi.builder';

@Injectable()
export class OpenApiService {
  private document?: Record<string, unknown>;
  private routes?: DocumentedRoute[];

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  documentedRoutes(): DocumentedRoute[] {
    this.routes ??= collectRoutes(
      this.discovery
        .getControllers()
        .map((w) => w.metatype)
        .filter((m): m is Function => typeof m === 'function'),
    );
    return this.routes;
  }

  getDocument(): Record<string, unknown> {
    this.document ??= buildOpenApiDocument(this.documentedRoutes(), {
      version: HUB_VERSION,
      serverUrl: this.config.http.publicUrl,
    });
    return this.document;
  }
}
