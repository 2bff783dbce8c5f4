// Test preload: a Node without process.execve (before 22.15), so the launcher must spawn the binary.
delete process.execve;
