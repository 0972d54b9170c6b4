// The house style, checked by `npm test` (npm run lint): typescript-eslint's recommended rules on
// everything we write, and in the packages' sources a limit on the length of a function.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

/**
 * 60 lines of code (blank lines and comments not counted): one screen, so a reader sees a function
 * whole. Past it, a function is doing several things that want names of their own. A function that
 * must stay longer says why in an eslint-disable comment above it.
 */
const FUNCTION_LINES = 60;

export default tseslint.config(
  {
    ignores: [
      "**/dist/",
      "**/node_modules/",
      "test/corpus/",
      "test/fixtures/",
      "bench/fixtures/build/",
      "packages/worker/src/generated/",
      "test/browser/pages/built/",
      "test-results/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true, caughtErrors: "none" },
      ],
      "@typescript-eslint/no-explicit-any": "off",
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
  {
    // Playwright fixtures that use no other fixture take `{}` (it reads the parameter's pattern).
    files: ["test/browser/**/*.ts", "test/browser/support/*.ts"],
    rules: { "no-empty-pattern": "off" },
  },
  {
    files: ["packages/*/src/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "max-lines-per-function": ["error", { max: FUNCTION_LINES, skipBlankLines: true, skipComments: true, IIFEs: true }],
      "no-console": "error",
    },
  },
);
