// Child-process entry of the auth benchmark: the production hub plus one benchmark-only public
// route that does exactly the work of GET /v1/users/me for a given user, without credentials, so
// the difference between the two is what authentication costs.
import { Controller, Get, Module, Query } from '@nestjs/common';
import { Public } from '@hostplane/hub/dist/src/access/access.decorators';
import { createHubApp } from '@hostplane/hub/dist/src/app.factory';
import { loadConfig } from '@hostplane/hub/dist/src/config/load-config';
import { ApiDoc } from '@hostplane/hub/dist/src/openapi/api-doc';
import { UsersModule } from '@hostplane/hub/dist/src/users/users.module';
import { UsersService } from '@hostplane/hub/dist/src/users/users.service';
import { serveUntilClosed } from './lib/child-server';

@Controller('bench')
class SameWorkController {
  constructor(private readonly users: UsersService) {}

  @Get('users/me')
  @Public()
  @ApiDoc({
    summary: 'benchmark only: GET /v1/users/me of ?user_id= without authentication',
    tags: ['bench'],
    public: true,
    responses: { 200: { description: 'The user' } },
  })
  me(@Query('user_id') userId: string) {
    return this.users.me(userId);
  }
}

@Module({ imports: [UsersModule], controllers: [SameWorkController] })
class SameWorkModule {}

serveUntilClosed(async () => {
  const config = loadConfig({ env: process.env });
  const { app } = await createHubApp({ config, extraModules: [SameWorkModule] });
  await app.listen({ host: config.http.host, port: config.http.port });
  const { port } = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
});
