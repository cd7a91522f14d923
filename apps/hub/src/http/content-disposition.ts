/**
 * `attachment` with the file's name for every client (RFC 6266): an ASCII fallback in
 * `filename` (quotes, backslashes, controls and non-ASCII replaced) and the exact name in
 * `filename*` as UTF-8, percent-encoded per RFC 8187.
 */
export function attachmentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'download';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
