// Test preload: a Node whose process.binding is refused (as under the permission model).
process.binding = () => {
  throw new Error('process.binding refused');
};
