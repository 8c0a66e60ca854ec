import { KeyCache } from '../../core/token/key-cache.js';

/** This isolate's derived and unwrapped keys (tenant provisioning, edge token signing). */
export const isolateKeys = new KeyCache();
