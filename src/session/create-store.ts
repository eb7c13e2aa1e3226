/** Chooses the session store named by the configuration. */
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createMemoryStore } from './memory-store.ts';
import type { SessionStore } from './store.ts';

/**
 * Opens the configured store.
 * @throws when the store cannot be opened (bad SQLite path).
 */
export async function createStore(config: Config, logger: Logger): Promise<SessionStore> {
  switch (config.sessionStore) {
    case 'memory':
    default:
      if (config.env !== 'test') logger.warn('SESSION_STORE=memory: sessions are lost on restart and not shared between instances (tests and throwaway runs only)');
      return createMemoryStore();
  }
}
