import { spawn } from 'node:child_process';
import { CikuError } from '../errors.ts';

/**
 * Runs one command-line tool of the document adapters (poppler, Tesseract, LibreOffice) as a child process: no
 * shell (arguments are passed as they are, a file name can never become a command), its own process group (so
 * LibreOffice's helper processes die with it), bounded output buffers, a wall-clock budget and the worker's
 * shutdown signal. A stopped run is an error with a code: shutdown → CIKU_ERR_UNAVAILABLE (retry later), budget or
 * output bound → CIKU_ERR_MEDIA_TOO_LARGE (the file asks for more than we give one file).
 */

export interface ToolRunOptions {
  /** Wall-clock budget; the whole process group is killed when it runs out. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Largest stdout kept, in bytes (beyond it the run is stopped as too large). Ignored with `onStdout`. */
  maxStdout?: number;
  /** stderr kept for the error message: its last bytes. */
  maxStderr?: number;
  /** Streams stdout instead of buffering it; answer `false` to stop the tool (the run then ends normally). */
  onStdout?: (chunk: Buffer) => boolean | void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What the tool reads from stdin (none: stdin is closed). */
  input?: Buffer;
  /** Names the tool in error messages (`pdftotext`). */
  what?: string;
}

export interface ToolRun {
  stdout: Buffer;
  stderr: string;
  /** Exit code (null when it ended by a signal). */
  code: number | null;
  /** True when `onStdout` asked to stop early. */
  stoppedEarly: boolean;
}

const DEFAULT_MAX_STDOUT = 64 * 1024 * 1024;
const DEFAULT_MAX_STDERR = 16 * 1024;

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    // Negative pid: the whole group (the child was started detached, so it leads one).
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Runs `command args`; resolves with its output whatever the exit code (the caller judges it), rejects when stopped. */
export function runTool(command: string, args: readonly string[], opts: ToolRunOptions): Promise<ToolRun> {
  const what = opts.what ?? command;
  const maxStdout = opts.maxStdout ?? DEFAULT_MAX_STDOUT;
  const maxStderr = opts.maxStderr ?? DEFAULT_MAX_STDERR;
  return new Promise<ToolRun>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new CikuError('CIKU_ERR_UNAVAILABLE', `${what} was not started: the worker is shutting down`));
      return;
    }
    const child = spawn(command, args, {
      detached: true,
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = Buffer.alloc(0);
    let stoppedFor: 'shutdown' | 'budget' | 'output' | 'early' | undefined;
    const stop = (why: NonNullable<typeof stoppedFor>) => {
      stoppedFor ??= why;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop('budget'), opts.timeoutMs);
    const onAbort = () => stop('shutdown');
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout!.on('data', (chunk: Buffer) => {
      if (stoppedFor !== undefined) return;
      if (opts.onStdout) {
        if (opts.onStdout(chunk) === false) stop('early');
        return;
      }
      outBytes += chunk.length;
      if (outBytes > maxStdout) stop('output');
      else out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      err = Buffer.concat([err, chunk]);
      if (err.length > maxStderr) err = err.subarray(err.length - maxStderr);
    });
    if (opts.input && child.stdin) {
      // A tool that exits before reading all its input closes the pipe: that is its answer, not our error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    }
    const finish = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish();
      reject(
        e.code === 'ENOENT'
          ? new CikuError('CIKU_ERR_UNAVAILABLE', `${what} is not installed (${command} not found)`, {
              cause: e,
            })
          : new CikuError('CIKU_ERR_UNAVAILABLE', `${what} could not be started: ${e.message}`, { cause: e }),
      );
    });
    child.on('close', (code) => {
      finish();
      const stderr = err.toString('utf8');
      switch (stoppedFor) {
        case 'shutdown':
          reject(new CikuError('CIKU_ERR_UNAVAILABLE', `${what} was stopped: the worker is shutting down`));
          return;
        case 'budget':
          reject(new CikuError('CIKU_ERR_MEDIA_TOO_LARGE', `${what} was stopped after ${opts.timeoutMs} ms`));
          return;
        case 'output':
          reject(
            new CikuError('CIKU_ERR_MEDIA_TOO_LARGE', `${what} wrote more than ${maxStdout} bytes: stopped`),
          );
          return;
        case 'early':
        case undefined:
          resolve({ stdout: Buffer.concat(out), stderr, code, stoppedEarly: stoppedFor === 'early' });
      }
    });
  });
}

/** The last meaningful lines of a tool's stderr, for an error message. */
export function stderrTail(stderr: string, lines = 3): string {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-lines)
    .join(' ')
    .slice(0, 1000);
}
