import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * A synthetic interview clip that a browser cannot play as is (MPEG-4 Part 2 video + PCM audio in AVI), so a
 * derivative job must transcode it: the workload of bench:derive and of the worker kill tests.
 */
export async function makeTestClip(file: string, options: { seconds: number; size?: string }): Promise<void> {
  const { seconds, size = '1280x720' } = options;
  await promisify(execFile)('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=30:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=300:duration=${seconds}`,
    '-c:v',
    'mpeg4',
    '-q:v',
    '3',
    '-c:a',
    'pcm_s16le',
    '-shortest',
    file,
  ]);
}
