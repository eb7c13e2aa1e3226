/**
 * The store contract under node:test, as a store author without ava would run it (the module
 * comment of src/testing/store-contract.ts). Not an ava file (no `.test.ts`): the ava test
 * store-contract-node-test.test.ts runs it with
 * `node --import tsx --conditions=koa-oidc-bff-source --test <this file>`.
 */
import { test } from 'node:test';
import { createMemoryStore } from 'koa-oidc-bff/stores/memory';
import { storeContract } from 'koa-oidc-bff/testing';

storeContract(
  'memory',
  async () => {
    const store = createMemoryStore(100);
    return { store, close: () => store.close() };
  },
  (title, fn) => test(title, fn),
);
