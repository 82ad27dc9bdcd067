// The few pino methods the Kubernetes source logs through; injected so tests can collect the lines.
export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const SILENT: Logger = { info() {}, warn() {}, error() {} };
