import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CikuError, errorCatalogue, type ErrorCode } from '../../errors.ts';

/**
 * The one error handler: coded errors keep their status and message; Fastify's own (validation, body size, bad
 * JSON, unsupported media) become coded 4xx; anything else is a 500 whose details go to the log only.
 */
export function registerErrorHandling(
  app: FastifyInstance,
  options: { htmlNotFound?: (request: FastifyRequest, reply: FastifyReply) => unknown } = {},
): void {
  app.setErrorHandler((err: FastifyError | CikuError | Error, request, reply) => {
    let code: ErrorCode;
    let message: string;
    let details: unknown;
    if (err instanceof CikuError) {
      code = err.code;
      message = err.message;
      details = err.details;
    } else if ('validation' in err && err.validation) {
      code = 'CIKU_ERR_REQUEST_INVALID';
      message = `invalid request: ${err.message}`;
    } else {
      const fst = (err as FastifyError).code;
      const status = (err as FastifyError).statusCode ?? 500;
      if (fst === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        code = 'CIKU_ERR_REQUEST_TOO_LARGE';
        message = 'request body too large';
      } else if (fst === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
        code = 'CIKU_ERR_REQUEST_INVALID';
        message = 'invalid JSON body';
      } else if (fst === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        code = 'CIKU_ERR_REQUEST_INVALID';
        message = `unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}`;
      } else if (status === 429) {
        code = 'CIKU_ERR_RATE_LIMITED';
        message = err.message;
      } else if (status >= 400 && status < 500) {
        code = 'CIKU_ERR_REQUEST_INVALID';
        message = err.message;
      } else {
        code = 'CIKU_ERR_INTERNAL';
        message = 'internal error';
      }
    }
    const status = errorCatalogue[code];
    if (status >= 500) request.log.error({ err, code }, 'request failed');
    else request.log.info({ code, msg: message }, 'request refused');
    void reply.status(status).send(details === undefined ? { code, message } : { code, message, details });
  });
  app.setNotFoundHandler((request, reply) => {
    // A browser that follows a broken link to a page gets a page; API clients keep the coded JSON.
    if (
      options.htmlNotFound !== undefined &&
      !request.url.startsWith('/v1/') &&
      (request.headers.accept ?? '').includes('text/html')
    )
      return options.htmlNotFound(request, reply);
    void reply.status(404).send({
      code: 'CIKU_ERR_NOT_FOUND',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
    });
  });
}
