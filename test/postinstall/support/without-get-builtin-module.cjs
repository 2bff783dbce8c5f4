// Test preload: a Node without process.getBuiltinModule (before 20.16).
delete process.getBuiltinModule;
