import { defineErrors } from './error-catalog';

/** Codes any route may answer with: request shape, credentials, limits and backing services. */
export const HTTP_ERRORS = defineErrors('http', {
  bad_request: { status: 400, message: 'the request is malformed' },
  validation_failed: {
    status: 400,
    message: 'a field of the body, query or path is invalid; the message and `fields` name it',
  },
  invalid_json: { status: 400, message: 'the request body is not valid JSON' },
  invalid_content_length: { status: 400, message: 'Content-Length does not match the body' },
  invalid_text: { status: 400, message: 'request text contains NUL or an unpaired UTF-16 surrogate' },
  incomplete_body: { status: 400, message: 'the request body ended before it was complete' },
  unauthorized: { status: 401, message: 'authentication required: send a bearer token or X-Api-Key' },
  forbidden: { status: 403, message: 'not allowed' },
  not_found: { status: 404, message: 'the resource (or route) does not exist, or is not visible to the caller' },
  method_not_allowed: { status: 405, message: 'the route does not take this method' },
  conflict: { status: 409, message: 'the request conflicts with the current state' },
  name_taken: { status: 409, message: 'another resource of this kind already has this name' },
  payload_too_large: { status: 413, message: 'the request body is larger than the limit' },
  unsupported_media_type: { status: 415, message: 'the Content-Type is not one this route takes' },
  unprocessable: { status: 422, message: 'the request is well-formed but cannot be processed' },
  upgrade_required: { status: 426, message: 'this is a WebSocket route: connect with an HTTP Upgrade request' },
  rate_limited: { status: 429, message: 'too many requests: retry after `retry_after` seconds' },
  internal_error: { status: 500, message: 'the hub failed; the request id is in the logs' },
  unavailable: { status: 503, message: 'the hub cannot do this right now: retry shortly' },
  dependency_unavailable: { status: 503, message: 'a backing service (Redis) is unavailable: retry shortly' },
});
