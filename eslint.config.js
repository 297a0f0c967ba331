import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.stack/**',
      'src/generated/**',
      'client/src/generated/**',
      'client/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Express 5 handles rejected promises from handlers, so passing async handlers is intended.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/require-await': 'off',
      'no-console': ['error', { allow: ['warn', 'error'] }],
      'no-restricted-syntax': [
        'error',
        {
          // dependency-cruiser reads `import x, { type Y }` as type-only, which would carry a
          // value import past the layer rules that let types through.
          selector:
            "ImportDeclaration:has(ImportDefaultSpecifier):has(ImportSpecifier[importKind='type'])",
          message: 'Import the types in their own `import type` statement.',
        },
      ],
    },
  },
  {
    // Operator commands and benchmarks talk to a terminal.
    files: ['scripts/**/*.ts', 'seeds/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['eslint.config.js', '.dependency-cruiser.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['.dependency-cruiser.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
);
