/**
 * The emulator's HTTPS front: reads each request into a Ctx, passes it through the handler chain
 * (first handler that answers wins), turns thrown HttpFail into ARM error bodies and writes the
 * reply with the request-id headers ARM sends. Binds 127.0.0.1 only.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpFail, type Ctx, type Handler, type Reply, guid } from './http.js';

/** Set on a reply to make the server drop the connection instead of answering. */
export const DROP_CONNECTION = 'x-sandbox-drop-connection';

/** Observes every finished exchange (the request log). */
export type ExchangeObserver = (ctx: Ctx, reply: Reply) => void;

/** A running HTTPS front. */
export interface Front {
  server: Server;
  base: string;
  close(): Promise<void>;
}

/** Starts the HTTPS server on 127.0.0.1:0. */
export async function startFront(
  tls: { cert: string; key: string },
  handlers: () => Handler[],
  observe?: ExchangeObserver,
): Promise<Front> {
  const front = { base: '' } as Front;
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    serve(req, res, front.base, handlers(), observe).catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  front.server = server;
  front.base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return front;
}

async function serve(req: IncomingMessage, res: ServerResponse, base: string,
  handlers: Handler[], observe?: ExchangeObserver): Promise<void> {
  const ctx = await readCtx(req, base);
  const reply = await answer(ctx, handlers);
  observe?.(ctx, reply);
  if (reply.headers?.[DROP_CONNECTION]) {
    req.socket.destroy();
    return;
  }
  write(res, ctx, reply);
}

async function readCtx(req: IncomingMessage, base: string): Promise<Ctx> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', base);
  let body: unknown;
  try {
    body = rawBody ? JSON.parse(rawBody) : undefined;
  } catch {
    body = undefined;
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    path: safeDecode(url.pathname),
    query: url.searchParams,
    headers: req.headers,
    body,
    rawBody,
    base,
  };
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

async function answer(ctx: Ctx, handlers: Handler[]): Promise<Reply> {
  try {
    for (const handler of handlers) {
      const reply = await handler(ctx);
      if (reply) return reply;
    }
    return errorReply(404, 'NotFound', `No route for ${ctx.method} ${ctx.path}.`);
  } catch (e) {
    if (e instanceof HttpFail) return { ...errorReply(e.status, e.code, e.message),
      headers: e.headers };
    return errorReply(500, 'InternalServerError',
      `The sandbox failed: ${(e as Error).message ?? String(e)}`);
  }
}

function errorReply(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}

function write(res: ServerResponse, ctx: Ctx, reply: Reply): void {
  const requestId = guid();
  const headers: Record<string, string> = {
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id':
      String(ctx.headers['x-ms-correlation-request-id'] ?? requestId),
    ...reply.headers,
  };
  const clientId = ctx.headers['x-ms-client-request-id'];
  if (clientId) headers['x-ms-client-request-id'] = String(clientId);

  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...headers, 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}
