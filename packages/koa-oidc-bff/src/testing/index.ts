/** Helpers for hosts' tests and for authors of stores: the store contract suite. */
export * from './store-contract.ts';
