// The real rewrite's binary moved to rehearsal/ so the rehearsal (product code) can use it; tests keep this path.
export { canRunRealRewrite, REAL_REWRITE, realRewriteBinary, realRewriteTarball } from '../../rehearsal/real-rewrite.js';
