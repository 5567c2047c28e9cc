/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// Built straight into the Python package, where the balancer serves it from
// (git-ignored). The CMake build passes its own --outDir for wheels.
export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "../python/paddler/web_admin_panel",
    emptyOutDir: true,
    // No source maps in the wheel: they double its size for no operator benefit.
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/testSetup.ts"],
  },
});
