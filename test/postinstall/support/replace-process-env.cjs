// A preload (NODE_OPTIONS=--require) that replaces process.env with a copy holding one more variable, as some tools do
// instead of setting it: the copy no longer writes through to the process's own environment.
process.env = { ...process.env, AO_FROM_PRELOAD: 'set by a preload' };
