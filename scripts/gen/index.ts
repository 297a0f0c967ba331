/**
 * `npm run gen`: regenerates every artifact derived from openapi.yaml.
 * `npm run gen:check`: regenerates in memory and fails when a committed artifact differs, so a
 * contract change without `npm run gen` (or a hand edit of a generated file) fails the check.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { generateClient } from './client.ts';
import { generateErrorDocs } from './error-docs.ts';
import { generatePostman } from './postman.ts';
import { ContractError, generateTypes, loadContract, repoRoot, writeGenerated } from './types.ts';
import type { GeneratedFile } from './types.ts';

async function readIfExists(relativePath: string): Promise<string | undefined> {
  try {
    return await readFile(path.join(repoRoot, relativePath), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function generateAll(): Promise<GeneratedFile[]> {
  const contract = await loadContract();
  const types = await generateTypes(contract);
  return [
    ...types,
    ...(await generateClient(contract, types)),
    ...(await generateErrorDocs(contract)),
    ...(await generatePostman(contract)),
  ];
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  let files: GeneratedFile[];
  try {
    files = await generateAll();
  } catch (error) {
    if (error instanceof ContractError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }

  const changed = new Set<string>();
  const drifted: string[] = [];
  for (const file of files) {
    const current = await readIfExists(file.path);
    if (current === file.content) continue;
    changed.add(file.path);
    drifted.push(current === undefined ? `${file.path} (missing)` : file.path);
  }

  if (check) {
    if (drifted.length > 0) {
      console.error(
        'Generated files are out of date with openapi.yaml (or were edited by hand):\n' +
          drifted.map((file) => `  - ${file}`).join('\n') +
          '\nRun `npm run gen` and commit the result.',
      );
      return 1;
    }
    console.log(`Generated files are up to date (${files.length} checked).`);
    return 0;
  }

  await writeGenerated(files.filter((file) => changed.has(file.path)));
  for (const file of files) {
    console.log(`${changed.has(file.path) ? 'wrote    ' : 'unchanged'} ${file.path}`);
  }
  return 0;
}

process.exitCode = await main();
