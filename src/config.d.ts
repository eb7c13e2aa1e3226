import { z } from 'zod';
/** The dev-idp's registered client; accepted only outside production. */
export declare const DEV_CLIENT_ID = "bff-demo";
export declare const DEV_CLIENT_SECRET = "dev-only-insecure-client-secret";
/** True when `url`'s host is a loopback name or address. */
export declare function isLoopback(url: URL): boolean;
/** Raw environment schema: one entry per documented setting (see README "Settings" and .env.example). */
declare const EnvSchema: z.ZodObject<{
    NODE_ENV: z.ZodDefault<z.ZodEnum<{
        development: "development";
        production: "production";
        test: "test";
    }>>;
    PORT: z.ZodDefault<z.ZodCoercedNumber<unknown>>;
    BASE_URL: z.ZodOptional<z.ZodURL>;
    ISSUER_BASE_URL: z.ZodDefault<z.ZodURL>;
    CLIENT_ID: z.ZodDefault<z.ZodString>;
    CLIENT_SECRET: z.ZodOptional<z.ZodString>;
    RESPONSE_TYPE: z.ZodDefault<z.ZodEnum<{
        code: "code";
        id_token: "id_token";
    }>>;
    SCOPE: z.ZodOptional<z.ZodString>;
    SESSION_SECRET: z.ZodOptional<z.ZodString>;
    SESSION_STORE: z.ZodDefault<z.ZodEnum<{
        memory: "memory";
        redis: "redis";
        sqlite: "sqlite";
    }>>;
    SESSION_SQLITE_PATH: z.ZodOptional<z.ZodString>;
    REDIS_URL: z.ZodOptional<z.ZodURL>;
    SESSION_IDLE_TIMEOUT: z.ZodDefault<z.ZodCoercedNumber<unknown>>;
    SESSION_ABSOLUTE_TIMEOUT: z.ZodDefault<z.ZodCoercedNumber<unknown>>;
    CLOCK_TOLERANCE: z.ZodDefault<z.ZodCoercedNumber<unknown>>;
    TOKEN_REFRESH_SKEW: z.ZodDefault<z.ZodCoercedNumber<unknown>>;
    IDP_TIMEOUT: z.ZodDefault<z.ZodCoercedNumber<unknown>>;
    REMOTE_API_URL: z.ZodDefault<z.ZodURL>;
    TRUST_PROXY: z.ZodPipe<z.ZodDefault<z.ZodEnum<{
        0: "0";
        1: "1";
        false: "false";
        true: "true";
    }>>, z.ZodTransform<boolean, "0" | "1" | "false" | "true">>;
    LOG_LEVEL: z.ZodOptional<z.ZodEnum<{
        debug: "debug";
        error: "error";
        fatal: "fatal";
        info: "info";
        silent: "silent";
        trace: "trace";
        warn: "warn";
    }>>;
    DATA_DIR: z.ZodDefault<z.ZodString>;
}, z.core.$strip>;
/** Validated, frozen application configuration. */
export interface Config {
    readonly env: 'development' | 'test' | 'production';
    readonly port: number;
    readonly baseUrl: URL;
    /** BASE_URL + /callback: the only redirect URI. */
    readonly redirectUri: URL;
    readonly issuer: URL;
    /** True when the issuer is http:// (allowed on loopback only). */
    readonly insecureIssuer: boolean;
    readonly clientId: string;
    readonly clientSecret: string;
    readonly responseType: 'code' | 'id_token';
    readonly scope: string;
    /** Session cookie signing keys; the first signs. */
    readonly sessionKeys: readonly string[];
    readonly sessionStore: 'sqlite' | 'redis' | 'memory';
    readonly sqlitePath: string;
    readonly redisUrl: string | undefined;
    /** Seconds. */
    readonly idleTimeout: number;
    /** Seconds. */
    readonly absoluteTimeout: number;
    /** Seconds. */
    readonly clockTolerance: number;
    /** Seconds. */
    readonly refreshSkew: number;
    /** Seconds. */
    readonly idpTimeout: number;
    readonly remoteApiUrl: URL;
    readonly trustProxy: boolean;
    /** Cookie Secure flag, derived from BASE_URL's scheme. */
    readonly secureCookies: boolean;
    readonly logLevel: string;
    readonly dataDir: string;
}
/** Thrown by {@link loadConfig} with every problem found, one line each. */
export declare class ConfigError extends Error {
    readonly problems: readonly string[];
    constructor(problems: readonly string[]);
}
type Env = z.infer<typeof EnvSchema>;
/** The name of one setting (an environment variable). */
export type SettingName = keyof Env;
/** Every setting the app reads, in schema order (README's table and .env.example list exactly these). */
export declare const SETTING_NAMES: readonly ("BASE_URL" | "CLIENT_ID" | "CLIENT_SECRET" | "CLOCK_TOLERANCE" | "DATA_DIR" | "IDP_TIMEOUT" | "ISSUER_BASE_URL" | "LOG_LEVEL" | "NODE_ENV" | "PORT" | "REDIS_URL" | "REMOTE_API_URL" | "RESPONSE_TYPE" | "SCOPE" | "SESSION_ABSOLUTE_TIMEOUT" | "SESSION_IDLE_TIMEOUT" | "SESSION_SECRET" | "SESSION_SQLITE_PATH" | "SESSION_STORE" | "TOKEN_REFRESH_SKEW" | "TRUST_PROXY")[];
/** A valid value of each setting, quoted in every configuration error about it. */
export declare const SETTING_EXAMPLES: Readonly<Record<SettingName, string>>;
/**
 * Validates `env` and returns the frozen {@link Config}.
 * Each setting is parsed on its own, so one invalid value never hides another problem; rules that
 * combine settings run whenever the settings they read are valid.
 * In development without SESSION_SECRET a random secret is generated once and kept in DATA_DIR.
 * @param env usually `process.env` merged with `.env`; tests pass a literal object. Empty values count as unset.
 * @throws {ConfigError} listing every invalid or missing setting, one line each.
 */
export declare function loadConfig(env: Record<string, string | undefined>): Config;
/**
 * The environment as the app sees it: `.env` (if present, parsed without touching `process.env`)
 * overridden by the real environment.
 */
export declare function readEnvironment(envFile?: string): Promise<Record<string, string | undefined>>;
export {};
