// Request ids for X-Request-ID when the client sent none.
/** X-Request-ID values: 32 hex digits like nginx's `$request_id`, a random prefix plus a counter. */
export class RequestIds {
  private readonly prefix: string;
  private counter = 0;

  constructor(randomHex: string) {
    this.prefix = randomHex.slice(0, 20).padStart(20, '0');
  }

  next(): string {
    this.counter = (this.counter + 1) % 0x1000000000000;
    return this.prefix + this.counter.toString(16).padStart(12, '0');
  }
}
