import type { ServerResponse } from 'node:http';
import { statusObject } from './status.js';

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(
  res: ServerResponse,
  code: number,
  message?: string,
  reason?: string,
  details?: object,
): void {
  sendJson(res, code, statusObject(code, message, reason, details));
}

/** A client-caused failure, answered with its HTTP code and a Status body. */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason?: string,
    readonly details?: object,
  ) {
    super(message);
  }
}
