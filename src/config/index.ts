export { configSchema, type Config } from './schema.js';
export {
  ConfigError,
  loadConfig,
  validateConfig,
  mergeConfig,
  applyEnvOverrides,
  defaultConfigPath,
  projectRoot,
  type LoadOptions,
} from './load.js';
export { ConfigService, compareVersions, type ConfigChange, type ConfigListener } from './service.js';
