// The real rewrite's binary lives in rehearsal/ (product code uses it); tests keep this path.
export { canRunRealRewrite, REAL_REWRITE, realRewriteBinary, realRewriteTarball } from '../../rehearsal/real-rewrite.js';
