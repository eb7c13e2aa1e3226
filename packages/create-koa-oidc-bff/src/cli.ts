#!/usr/bin/env node
/**
 * `npm create koa-oidc-bff@latest my-app` (or `npx create-koa-oidc-bff my-app`): writes a Koa app
 * protected by koa-oidc-bff into ./my-app. Exit 0 when written, 1 when the folder cannot be
 * used, 2 for an invalid command line.
 */
import path from 'node:path';
import { planCli, USAGE, type CliPlan } from './cli-args.ts';
import { create, CreateError } from './create.ts';

async function main(): Promise<number> {
  let plan: CliPlan;
  try {
    plan = planCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`create-koa-oidc-bff: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (plan.action === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    await create(plan.dir, { language: plan.language });
  } catch (err) {
    if (!(err instanceof CreateError)) throw err;
    process.stderr.write(`create-koa-oidc-bff: ${err.message}\n`);
    return 1;
  }
  const cd = path.relative(process.cwd(), path.resolve(plan.dir)) || '.';
  process.stdout.write(`Created ${cd}: a Koa app protected by koa-oidc-bff (${plan.language === 'ts' ? 'TypeScript' : 'JavaScript'}).

  cd ${cd}
  npm install
  npm start     # http://localhost:3000, log in as alice / alice-password
  npm test      # logs in through the dev IdP and calls the protected route
`);
  return 0;
}

process.exitCode = await main();
