import { type Logger } from 'pino';
export type { Logger };
/** Creates the app logger. `destination` lets tests capture output. */
export declare function createLogger(options: {
    level: string;
    pretty?: boolean;
    destination?: NodeJS.WritableStream;
}): Logger;
/**
 * True when logs should be pretty-printed (pino-pretty) rather than JSON: only for a person
 * watching a terminal in development. Production, tests and anything piped get JSON lines.
 */
export declare function prettyLogs(env: 'development' | 'test' | 'production', stdoutIsTTY: boolean): boolean;
/** A stable, non-reversible name for a session id, safe to log. */
export declare function sessionIdHash(id: string): string;
