import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentDisposition } from '../src/http/content-disposition';
import { commonParent, uploadTarget } from '../src/files/files.service';
import { checkTusResumable, parseSizeHeader, parseUploadMetadata } from '../src/files/tus-protocol';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('files API pure parts', () => {
  it('reads TUS Upload-Metadata pairs, keys without values, UTF-8 values', () => {
    assert.deepEqual(
      parseUploadMetadata(`path ${b64('world/région.dat')},is_confidential,filetype ${b64('text/plain')}`),
      {
        path: 'world/région.dat',
        is_confidential: '',
        filetype: 'text/plain',
      },
    );
    assert.deepEqual(parseUploadMetadata(undefined), {});
    for (const bad of ['path not*base64', 'a b c', `path ${b64('x')},path ${b64('y')}`, ' ,']) {
      assert.throws(
        () => parseUploadMetadata(bad),
        (e: { status: number }) => e.status === 400,
        bad,
      );
    }
  });

  it('accepts only TUS 1.0.0 and plain non-negative sizes', () => {
    assert.doesNotThrow(() => checkTusResumable('1.0.0'));
    assert.throws(
      () => checkTusResumable(undefined),
      (e: { status: number }) => e.status === 412,
    );
    assert.throws(
      () => checkTusResumable('0.2.2'),
      (e: { status: number }) => e.status === 412,
    );
    assert.equal(parseSizeHeader('Upload-Length', '1048576'), 1048576);
    assert.equal(parseSizeHeader('Upload-Length', undefined), undefined);
    for (const bad of ['-1', '1e3', '0x10', '', '99999999999999999'])
      assert.throws(() => parseSizeHeader('Upload-Length', bad), bad);
  });

  it('names downloads for every client (RFC 6266 / 8187)', () => {
    assert.equal(
      attachmentDisposition('server.properties'),
      `attachment; filename="server.properties"; filename*=UTF-8''server.properties`,
    );
    assert.equal(
      attachmentDisposition('naïve "q" 100%.txt'),
      `attachment; filename="na_ve _q_ 100_.txt"; filename*=UTF-8''na%C3%AFve%20%22q%22%20100%25.txt`,
    );
    assert.equal(
      attachmentDisposition("it's (1).zip"),
      `attachment; filename="it's (1).zip"; filename*=UTF-8''it%27s%20%281%29.zip`,
    );
  });

  it('archives relative to the deepest common directory', () => {
    assert.equal(commonParent(['world']), '.');
    assert.equal(commonParent(['a/b/c.txt', 'a/b/d/e.txt']), 'a/b');
    assert.equal(commonParent(['a/x', 'b/y']), '.');
    assert.equal(commonParent(['a', 'a/b']), '.');
    assert.equal(commonParent(['.']), '.');
  });

  it('validates multipart filenames like paths, sub-directories allowed', () => {
    assert.equal(uploadTarget('.', 'a.txt'), 'a.txt');
    assert.equal(uploadTarget('plugins', 'conf/x.yml'), 'plugins/conf/x.yml');
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', '', '.', 'a\u0000b'])
      assert.throws(
        () => uploadTarget('plugins', bad),
        (e: { status: number }) => e.status === 400,
        bad,
      );
  });
});
