/** The desktop app fetcher's library surface. */
export { installApp, verifyApp, appPath, removeApp, defaultRoot, currentVersionDir, MARKER, type InstallOptions, type InstallResult } from './install.js';
export { download, defaultDispatcher } from './download.js';
export { validateAppManifest, hostTargetId, type AppManifest, type AppTarget } from './manifest.js';
export { aoStateDir, recordAppState, clearAppState, readAppState, APP_STATE_FILE, type AppState } from './app-state.js';
export { pinnedKeys, keyId, type TrustedKey } from './trust.js';
