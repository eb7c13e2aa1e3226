#!/usr/bin/env node
/**
 * `koa-oidc-bff-dev-idp`: the installed package's command line. The same process as
 * `npm run start:idp` (main.ts), with flags over the environment; see HELP in cli-args.ts.
 */
import { CliUsageError, HELP, planCli, type CliPlan } from './cli-args.ts';
import { readProcessEnv } from './config.ts';
import { PACKAGE_VERSION } from './package-root.ts';
import { serveUntilSignal } from './serve.ts';

let plan: CliPlan;
try {
  plan = await planCli(process.argv.slice(2), readProcessEnv());
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof CliUsageError ? 2 : 1);
}

if (plan.action === 'help') process.stdout.write(HELP);
else if (plan.action === 'version') console.log(PACKAGE_VERSION);
else serveUntilSignal(plan.options, 'Change --port / --api-port (or DEV_IDP_PORT / DEV_API_PORT) otherwise');
