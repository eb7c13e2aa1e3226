/** Chooses the session store named by the configuration. */
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { createRedisStore } from 'koa-oidc-bff/stores/redis';
import { createRedisClusterStore, parseClusterNodes } from 'koa-oidc-bff/stores/redis-cluster';
import { createSqliteStore } from 'koa-oidc-bff/stores/sqlite';
import type { SessionStore } from 'koa-oidc-bff';

/**
 * Opens the configured store: `sqlite` (default, file `SESSION_SQLITE_PATH`), `redis`
 * (`REDIS_URL`; returns after at most 2 s even when Redis is down, see redis-store.ts),
 * `redis-cluster` (`REDIS_CLUSTER_NODES`, the same) or `memory`.
 * @throws when the SQLite file cannot be opened (startup fails with its path).
 */
export async function createStore(config: Config, logger: Logger): Promise<SessionStore> {
  switch (config.sessionStore) {
    case 'sqlite':
      try {
        return createSqliteStore(config.sqlitePath);
      } catch (err) {
        throw new Error(`SESSION_SQLITE_PATH: cannot open ${config.sqlitePath}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    case 'redis':
      return createRedisStore(config.redisUrl!, { logger, waitReplicas: config.redisWaitReplicas, waitTimeoutMs: config.redisWaitTimeoutMs });
    case 'redis-cluster':
      return createRedisClusterStore(parseClusterNodes(config.redisClusterNodes!), { logger, waitReplicas: config.redisWaitReplicas, waitTimeoutMs: config.redisWaitTimeoutMs });
    case 'memory':
    default:
      if (config.env !== 'test') logger.warn('SESSION_STORE=memory: sessions are lost on restart and not shared between instances (tests and throwaway runs only)');
      return createMemoryStore();
  }
}
