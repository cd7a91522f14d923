import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../src/http/logger';
import { LogCapture } from './support/log-capture';

describe('logging', () => {
  it('redacts credentials headers and password fields', () => {
    const capture = new LogCapture();
    const log = createLogger({ log: { level: 'info' } }, capture);
    log.info(
      {
        req: {
          method: 'POST',
          url: '/v1/auth/login',
          headers: {
            authorization: 'Bearer eyJsecret',
            'x-api-key': 'hp_pat_secret1',
            'x-agent-token': 'hp_agt_secret2',
            'user-agent': 'curl',
          },
        },
        body: { email: 'a@b.c', password: 'hunter2-secret' },
      },
      'request',
    );
    log.flush();
    const text = capture.text();
    for (const secret of ['eyJsecret', 'hp_pat_secret1', 'hp_agt_secret2', 'hunter2-secret'])
      assert.ok(!text.includes(secret), `${secret} leaked`);
    const entry = capture.entries()[0] as { req: { headers: Record<string, string> }; body: Record<string, string> };
    assert.equal(entry.req.headers.authorization, '[redacted]');
    assert.equal(entry.req.headers['user-agent'], 'curl');
    assert.equal(entry.body.email, 'a@b.c');
  });
});
