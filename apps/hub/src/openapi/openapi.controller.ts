import { Controller, Get, Header, Res } from '@nestjs/common';
import { Public } from '../access/access.decorators';
import { createReadStream } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ApiDoc } from './api-doc';
import { OpenApiService } from './openapi.service';
import { ValidParams } from '../http/validation';
import { NotFoundError } from '../http/errors';

/** Swagger UI files served from the installed package, so /docs works without internet access. */
const UI_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

const INIT_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });
};
`;

const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hostplane API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"><link rel="icon" href="/docs/assets/favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/assets/init.js"></script>
</body></html>
`;

const assetParams = z.object({ file: z.string() });

@Controller()
export class OpenApiController {
  constructor(private readonly openapi: OpenApiService) {}

  @Get()
  @Public()
  @ApiDoc({
    summary: 'Where things are: redirects a browser to /docs, and says so in JSON',
    tags: ['meta'],
    public: true,
    responses: { 302: { description: 'To /docs' } },
  })
  root(@Res({ passthrough: true }) reply: FastifyReply) {
    void reply.status(302).header('location', '/docs');
    return { name: 'hostplane', docs: '/docs', openapi: '/openapi.json', api: '/v1', health: '/health' };
  }

  @Get('openapi.json')
  @Public()
  @ApiDoc({
    summary: 'The OpenAPI 3.1 document of this API',
    tags: ['meta'],
    public: true,
    responses: { 200: { description: 'OpenAPI document' } },
  })
  document(): Record<string, unknown> {
    return this.openapi.getDocument();
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  @Public()
  @ApiDoc({
    summary: 'Interactive API reference',
    tags: ['meta'],
    public: true,
    responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
  })
  docs(): string {
    return DOCS_HTML;
  }

  @Get('docs/assets/:file')
  @Public()
  @ApiDoc({
    summary: 'Static files of the API reference page',
    tags: ['meta'],
    public: true,
    responses: { 200: { description: 'A static file' } },
  })
  asset(@ValidParams(assetParams) params: z.infer<typeof assetParams>, @Res() reply: FastifyReply): void {
    if (params.file === 'init.js') {
      void reply.type('application/javascript; charset=utf-8').send(INIT_JS);
      return;
    }
    const type = UI_ASSETS[params.file];
    if (!type) throw new NotFoundError(`asset ${params.file}`);
    void reply
      .type(type)
      .header('cache-control', 'public, max-age=86400')
      .send(createReadStream(join(SWAGGER_UI_DIR, params.file)));
  }
}
