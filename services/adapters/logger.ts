import { pino, type Logger } from 'pino';

/** The one module that builds the structured (pino) logger. */
export function createLogger(level: string, options: { name?: string; destination?: number } = {}): Logger {
  return pino({ level, name: options.name ?? 'ciku' }, pino.destination(options.destination ?? 2));
}

export type { Logger };
