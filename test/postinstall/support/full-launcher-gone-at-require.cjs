// Test preload: the full launcher (lib/launcher-full.cjs) is gone the moment bin/ao requires it and back right after,
// as when bun or yarn 1 replace ao's files (unlink, then write anew) under a call: Node's lookup of it really fails
// (MODULE_NOT_FOUND), and the file is there again before bin/ao looks at what failed.
const fs = require('node:fs');
const Module = require('node:module');

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (!request.endsWith('launcher-full.cjs')) return resolve.call(this, request, ...rest);
  Module._resolveFilename = resolve;
  fs.renameSync(request, `${request}.aside`);
  try {
    return resolve.call(this, request, ...rest);
  } finally {
    fs.renameSync(`${request}.aside`, request);
  }
};
