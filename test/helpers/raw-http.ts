/**
 * Raw HTTP/1.1 over `node:net`, for requests that got (or any client) would refuse to send or
 * would normalise: bytes above 0x7f in headers, broken percent-encoding in the target, invalid
 * chunked bodies, absolute-form targets, duplicate headers.
 */
import net from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target exactly as sent (origin-form, absolute-form, `*`...). */
  target: string;
  /** Header lines as [name, value]; values are written as latin1 bytes (any byte 0x00-0xff). */
  headers: [string, string][];
  body?: Buffer;
  /** Send the body with `Transfer-Encoding: chunked` framing written by hand (may be invalid). */
  rawChunked?: string;
}

export interface RawResponse {
  /** undefined when the connection closed without a status line. */
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** A socket error or `timeout`, if any. */
  error?: string;
}

/** Serialises `req` (adding Host, Connection: close and, for a body, Content-Length). */
export function serialise(req: RawRequest, host: string): Buffer {
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `Host: ${host}`, ...req.headers.map(([n, v]) => `${n}: ${v}`), 'Connection: close'];
  if (req.rawChunked !== undefined) {
    lines.push('Transfer-Encoding: chunked');
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(req.rawChunked, 'latin1')]);
  }
  if (req.body) lines.push(`Content-Length: ${req.body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), req.body ?? Buffer.alloc(0)]);
}

/**
 * Sends one request on a fresh connection and reads until the server closes it.
 * @param timeoutMs hang guard: the socket is destroyed and `error: 'timeout'` reported after it.
 */
export function send(port: number, req: RawRequest, timeoutMs = 20_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(timeoutMs, () => {
      error = 'timeout';
      socket.destroy();
    });
    // write, not end: a half-closed connection makes Node abort the request before a slow handler answers.
    socket.on('connect', () => socket.write(serialise(req, `localhost:${port}`)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server may answer (413, 400) and close before reading a large body: EPIPE/ECONNRESET after a status line is fine.
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.on('close', () => resolve(parse(Buffer.concat(chunks).toString('latin1'), error)));
  });
}

function parse(text: string, error: string | undefined): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine, ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: status ? Number(status) : undefined, headers, body: end === -1 ? '' : text.slice(end + 4), ...(error ? { error } : {}) };
}
