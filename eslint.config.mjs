// One lint setup for every TypeScript and JavaScript file of the project (engine, server, extension
// host, webview, tests, scripts), as the anchors (vscode-eslint, vscode-hexeditor) have it.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".tools/**", ".test-artifacts/**", ".vscode-test/**", "training/.cache/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  // Product code stays readable in one screenful or two: no function over 120 lines (blank lines and comments aside).
  {
    files: ["src/**/*.ts", "media/**/*.ts"],
    rules: { "max-lines-per-function": ["error", { max: 120, skipBlankLines: true, skipComments: true }] },
  },
  // The webview runs in the browser; the extension tests' page.evaluate() callbacks run there too.
  { files: ["media/**/*.ts", "extension-tests/**/*.mjs"], languageOptions: { globals: { ...globals.browser } } },
  // The test-only language-model client extension is plain CommonJS, loaded by VS Code as it is.
  {
    files: ["extension-tests/lm-client/**/*.js"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  // Tests inside the extension host run under mocha.
  { files: ["extension-tests/**/*.ts"], languageOptions: { globals: { ...globals.mocha } } },
);
