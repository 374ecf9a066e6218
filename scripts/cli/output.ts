/** Prints a value as indented JSON on stdout: what every `--json` option prints. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Bytes as MiB with one decimal, as every size and rate the CLI prints. */
export function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
