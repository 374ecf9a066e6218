import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request on a fresh connection; with `cutAfter`, writes that many bytes of the body then drops the socket. */
export function rawRequest(
  url: string,
  options: { method: string; headers?: Record<string, string | number>; body?: Buffer; cutAfter?: number },
): Promise<RawResponse | 'dropped'> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method, headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err) => (options.cutAfter !== undefined ? resolve('dropped') : reject(err)));
    if (options.cutAfter !== undefined && options.body) {
      req.write(options.body.subarray(0, options.cutAfter), () => {
        // Let the bytes leave, then drop the connection as a flaky link would.
        setImmediate(() => {
          req.destroy();
          resolve('dropped');
        });
      });
      return;
    }
    req.end(options.body);
  });
}
