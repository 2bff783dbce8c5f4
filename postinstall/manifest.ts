// The manifest's types moved to common/ (release/ stages it, the launcher reads it); postinstall's own files keep this path.
export * from '../common/ao-manifest.js';
