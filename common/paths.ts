import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The toolkit's checkout root, whether this runs from source (vitest) or from dist/. */
export const REPO_ROOT = here.split(sep).includes('dist') ? resolve(here, '..', '..') : resolve(here, '..');

export const MATRIX_PATH = join(REPO_ROOT, 'matrix.json');
export const MATRIX_SCHEMA_PATH = join(REPO_ROOT, 'common', 'matrix.schema.json');
/** The release config beside matrix.json: the Go source, stamping, release checks, package metadata. */
export const RELEASE_CONFIG_PATH = join(REPO_ROOT, 'release.json');
export const RELEASE_CONFIG_SCHEMA_PATH = join(REPO_ROOT, 'common', 'release-config.schema.json');
/** The release config of the Go fixture (test/fixture-go), which the rehearsal releases. */
export const FIXTURE_RELEASE_CONFIG_PATH = join(REPO_ROOT, 'test', 'fixture-go', 'release.json');
/** Generated artifacts (staged packages, fixture builds, registry storage) live here, never committed. */
export const OUT_DIR = join(REPO_ROOT, 'out');
export const CACHE_DIR = join(REPO_ROOT, '.cache');
