/**
 * Carries on the storefront rebuilds that regions' changes, categories' moves, collections' new product lists and
 * the deletes of either left pending (src/modules/storefront/rebuild.ts), for REBUILD_BUDGET_MS a run; a rebuild
 * that needs longer goes on at the next run. The storefront's event consumer starts the same work as soon as a
 * change is published; this job is what finishes it in any case. Then, in what is left of the budget, it spreads
 * crowded title labels again (src/modules/storefront/title-respread.ts).
 */
import { createDb } from '../lib/db';
import { continueStorefrontRebuilds } from '../modules/storefront/rebuild';
import { respreadCrowdedTitles } from '../modules/storefront/title-respread';
import { runJob } from './run-job';

export const STOREFRONT_REBUILD_JOB = 'storefront-rebuild';

/** Well inside the minute between runs, so runs seldom overlap (overlapping runs share the steps: no harm). */
const REBUILD_BUDGET_MS = 45_000;

export function runStorefrontRebuildJob(env: Env): Promise<void> {
  return runJob(STOREFRONT_REBUILD_JOB, env, async (job) => {
    const until = { deadline: Date.now() + REBUILD_BUDGET_MS };
    const rebuilds = await continueStorefrontRebuilds(job.env, job.caller, until);
    const respreads = await respreadCrowdedTitles(createDb(job.env.DB), job.caller, until);
    return { ...rebuilds, ...respreads };
  });
}
