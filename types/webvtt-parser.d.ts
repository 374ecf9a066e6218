declare module 'webvtt-parser' {
  const parser: unknown;
  export default parser;
}
