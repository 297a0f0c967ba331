/**
 * Proves the client package works for someone outside the repo: `npm pack` in client/ (which
 * builds it), install the tarball into a scratch project in the system temp dir (its
 * dependencies come from the registry, as a consumer's would), then typecheck the client
 * examples of both READMEs and typed-error assertions against the installed declarations with
 * the browser's globals only, and import the built JavaScript in Node.
 *
 * It runs from .ci/run as its own phase rather than in the test suite: it needs the npm
 * registry and no service, takes seconds of npm work that would otherwise hold a test worker on
 * a 2-core machine, and a failure reads as "the package is broken" rather than as a failed test.
 *
 * Usage: npm run client:pack-check [-- --keep]   (--keep leaves the scratch project for a look)
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../gen/types.ts';

const run = promisify(execFile);
const clientDir = path.join(repoRoot, 'client');
const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');

/** The files a consumer gets; anything else in the tarball is a packaging mistake. */
const EXPECTED_FILES = /^(package\.json|README\.md|dist\/.+\.(js|d\.ts))$/;

/** Compiled against the installed package: each `@ts-expect-error` must meet an error. */
const TYPED_ERRORS_CHECK = `
import { createExpressKitClient } from '@expresskit/client';
import type { ApiError, ErrorCode } from '@expresskit/client';

const api = createExpressKitClient({ baseUrl: 'http://127.0.0.1:8000' });
const { error } = await api.POST('/v0/auth/totp/verify', {
  body: { temp_token: 'token', code: '123456' },
});
if (error?.code === 'totp:too_many_attempts') {
  const status: 429 = error.status;
  console.log(status);
}
// @ts-expect-error totpVerify cannot answer post:not_found
if (error?.code === 'post:not_found') console.log('unreachable');
const refused: ApiError<'login', 401>['code'] = 'auth:invalid_credentials';
// @ts-expect-error login does not answer session:not_found
const foreign: ErrorCode<'login'> = 'session:not_found';
const upload = await api.upload('uploadProfileImage', { file: new Blob([new Uint8Array(4)]) });
console.log(refused, foreign, upload.data?.image_url);
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  include: ['*.ts'],
};

/** The first TypeScript example in a README after `heading`, as a reader would copy it. */
function readmeExample(readme: string, heading: string): string {
  const after = readme.slice(Math.max(0, readme.indexOf(heading)));
  const match = /```ts\n([\s\S]*?)```/.exec(after);
  if (!match?.[1]) throw new Error(`no \`\`\`ts example after "${heading}"`);
  return match[1];
}

async function pack(destination: string): Promise<string> {
  const { stdout } = await run(
    'npm',
    ['pack', '--json', '--pack-destination', destination, '--loglevel', 'error'],
    { cwd: clientDir },
  );
  // npm prints the prepack build's output ahead of the JSON.
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!packed) throw new Error('npm pack reported no package');
  const stray = packed.files.map((file) => file.path).filter((file) => !EXPECTED_FILES.test(file));
  if (stray.length > 0) throw new Error(`unexpected files in the package: ${stray.join(', ')}`);
  console.log(`packed ${packed.filename} (${packed.files.length} files)`);
  return path.join(destination, packed.filename);
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'expresskit-client-'));
  try {
    const tarball = await pack(scratch);
    const project = path.join(scratch, 'consumer');
    await mkdir(project);
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
    );
    await run('npm', ['install', tarball, '--no-audit', '--no-fund', '--loglevel', 'error'], {
      cwd: project,
    });
    console.log(`installed into ${project}`);

    const clientReadme = await readFile(path.join(clientDir, 'README.md'), 'utf8');
    const rootReadme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    await writeFile(
      path.join(project, 'client-readme.ts'),
      readmeExample(clientReadme, '# @expresskit/client'),
    );
    await writeFile(path.join(project, 'readme.ts'), readmeExample(rootReadme, '## Use the API'));
    await writeFile(path.join(project, 'typed-errors.ts'), TYPED_ERRORS_CHECK);
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    await run(process.execPath, [tsc, '-p', project], { cwd: project }).catch(
      (failure: { stdout?: string }) => {
        throw new Error(`tsc failed against the installed package:\n${failure.stdout ?? ''}`);
      },
    );
    console.log('typechecked both README examples and the typed errors against the package');

    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '--eval',
        "const { createExpressKitClient, CookieJar } = await import('@expresskit/client');" +
          "const api = createExpressKitClient({ baseUrl: 'http://127.0.0.1:1', cookieJar: true });" +
          'console.log(typeof api.GET, typeof api.upload, typeof api.events, ' +
          'api.cookieJar instanceof CookieJar);',
      ],
      { cwd: project },
    );
    if (stdout.trim() !== 'function function function true') {
      throw new Error(`the installed package did not load as expected: ${stdout}`);
    }
    console.log('imported the built package in Node');
  } finally {
    if (keep) console.log(`kept ${scratch}`);
    else await rm(scratch, { recursive: true, force: true });
  }
}

await main();
