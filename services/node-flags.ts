/**
 * V8 flags for long-running ciku processes (also in bin/ciku.js's shebang, `npm start` and the Dockerfile).
 * A small young generation is scavenged often, so the Buffers a streaming upload leaves behind are freed promptly;
 * optimize-for-size makes the old generation grow slowly instead of using the machine's RAM as slack. Together they
 * keep a server's RSS near 130 MB under sustained uploads, against 250+ MB with V8's defaults on a 24 GB machine.
 */
export const serverNodeFlags = ['--max-semi-space-size=2', '--optimize-for-size'] as const;
