import type { startWorkers as StartWorkers } from '../../workers/main.ts';
import type { generateDemoSource as GenerateDemoSource } from '../demo/generate-demo.ts';

/*
 * The workers (sharp/libvips, ffmpeg, exifr) and the demo generator (sharp) are loaded only by the commands that
 * run them: `ciku serve` then carries none of them (~30 MiB less RSS, and a smaller heap for every GC to mark).
 */

export const startWorkers: typeof StartWorkers = async (...args) =>
  (await import('../../workers/main.ts')).startWorkers(...args);

export const generateDemoSource: typeof GenerateDemoSource = async (...args) =>
  (await import('../demo/generate-demo.ts')).generateDemoSource(...args);
