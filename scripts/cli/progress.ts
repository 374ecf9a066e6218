import cliProgress from 'cli-progress';

/** The one module that imports cli-progress. */
export interface ProgressBar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

/**
 * A progress bar on stderr, or none when stderr is not a terminal: logs and pipes get the summary lines only,
 * never a bar's control codes. `format` uses cli-progress's placeholders ({bar}, {value}, {total}, payload keys).
 */
export function progressBar(format: string): ProgressBar | undefined {
  if (!process.stderr.isTTY) return undefined;
  return new cliProgress.SingleBar({ stream: process.stderr, format }, cliProgress.Presets.shades_classic);
}
