import { STATUS_CODES } from 'node:http';

const reasons: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
}

/** A `Status` object, the body the real server sends with every non-2xx answer. */
export function statusObject(
  code: number,
  message?: string,
  reason?: string,
  details?: StatusDetails,
): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: message ?? STATUS_CODES[code] ?? 'error',
    reason: reason ?? reasons[code] ?? 'Unknown',
    ...(details ? { details } : {}),
    code,
  };
}

export function expiredStatus(requested: string | number, oldest: number): object {
  return statusObject(410, `too old resource version: ${requested} (${oldest})`, 'Expired');
}
