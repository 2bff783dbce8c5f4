/** The desktop app fetcher's library surface. */
export { installApp, verifyApp, appPath, removeApp, defaultRoot, currentVersionDir, MARKER, type InstallOptions, type InstallResult } from './install.js';
export { download, defaultDispatcher } from './download.js';
export { validateAppManifest, hostTargetId, type AppManifest, type AppTarget } from '../../common/app-manifest.js';
export { aoStateDir, recordAppState, clearAppState, readAppState, APP_STATE_FILE, type AppState } from './app-state.js';
export { pinnedKeys, type TrustedKey } from './trust.js';
export { keyId } from '../../common/app-signing.js';
