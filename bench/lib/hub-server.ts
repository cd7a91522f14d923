// Child-process entry of startBenchHub: the production app factory and config loader, configured
// entirely by the HOSTPLANE_* environment the parent passes.
import { createHubApp } from '@hostplane/hub/dist/src/app.factory';
import { loadConfig } from '@hostplane/hub/dist/src/config/load-config';
import { serveUntilClosed } from './child-server';

serveUntilClosed(async () => {
  const config = loadConfig({ env: process.env });
  const { app } = await createHubApp({ config });
  await app.listen({ host: config.http.host, port: config.http.port });
  const { port } = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
});
