export * from './repository.js';
export { MemoryRefData, validateSeed } from './memory.js';
export { PostgresRefData, migrate, seedPostgres, migrationsDir, type PostgresRefDataOptions } from './postgres.js';
export { DEFAULT_SEED, type RefDataSeed } from './seed.js';

import { MemoryRefData } from './memory.js';
import { PostgresRefData } from './postgres.js';
import { DEFAULT_SEED } from './seed.js';
import type { RefDataRepository } from './repository.js';

/** The session's reference data: PostgreSQL when `postgresUrl` is set (seeded where empty), else the bundled seed. */
export async function openRefData(postgresUrl: string | undefined): Promise<RefDataRepository> {
  if (postgresUrl === undefined || postgresUrl === '') return new MemoryRefData(DEFAULT_SEED);
  return PostgresRefData.connect({ url: postgresUrl, seed: DEFAULT_SEED });
}
