import { existsSync } from 'node:fs';

/**
 * The entry of an operator command: loads `.env` when present, runs `main` with the CLI
 * arguments and turns its result or failure into the exit code, printing only the message.
 */
export async function runCommand(main: (argv: string[]) => Promise<number>): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
