/**
 * V8 flags for long-running ciku processes, also spelled out in bin/ciku.js's shebang (which `npm start` and the
 * Dockerfile run) and in `bench:ingest`'s script: test/node-flags.test.ts keeps them equal.
 * A small young generation is scavenged often, so the Buffers a streaming upload leaves behind are freed promptly;
 * a fixed old-generation growth of 50% keeps the heap from using the machine's RAM as slack (V8's default grows it
 * up to 4× when collections look cheap) without the cost of --optimize-for-size, which we used before: its
 * memory-reducing full collections every ~30 MB of upload cost ~0.8 s of main-thread time per GiB. Measured with
 * `npm run bench:ingest -- --node-flags="…"` in one session (API / core, peak server RSS):
 *   --optimize-for-size                 large 0.48–0.70, small 0.47–0.51, 138–162 MiB
 *   --heap-growing-percent=50           large 0.70–0.83, small 0.70–0.81, 155–173 MiB
 *   (no growth limit)                   large 0.71–1.06, small 0.62–0.78, 287–300 MiB
 * `--expose-gc` gives the `gc` function that services/memory.ts uses to pace young collections while bytes stream
 * (and to compact around the search analyzers' load); without it those are skipped and V8 keeps its own pace.
 */
export const serverNodeFlags = [
  '--max-semi-space-size=2',
  '--heap-growing-percent=50',
  '--expose-gc',
] as const;
