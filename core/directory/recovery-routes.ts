/** Routes of backup and recovery (core/recovery/routes.ts), in the shape of router.ts's table. */
import { cancelJobRoute, createJobRoute, getChangesRoute, getFailedChangesRoute, getJobRoute, getSnapshotRoute, listJobsRoute, listSnapshotsRoute } from '../recovery/routes.js';
import type { Params, RouteSpec } from './router.js';

const p = (params: Params, name: string): string => params[name] ?? '';
const SNAP = ['directory', 'recovery', 'snapshots'];
// Graph functions may be called with or without the parentheses.
const fn = (name: string): string[] => [name, `${name}()`];

export const RECOVERY_ROUTES: readonly RouteSpec[] = [
  { pattern: SNAP, area: 'recovery', GET: (s, r, c) => listSnapshotsRoute(s, r, c) },
  { pattern: [...SNAP, ':sid'], area: 'recovery', GET: (s, r, c, x) => getSnapshotRoute(s, r, c, p(x, 'sid')) },
  {
    pattern: [...SNAP, ':sid', 'recoveryPreviewJobs'],
    area: 'recoveryPreview',
    startsJob: true,
    GET: (s, r, c, x) => listJobsRoute('preview')(s, r, c, p(x, 'sid')),
    POST: (s, r, c, x) => createJobRoute('preview')(s, r, c, p(x, 'sid')),
  },
  { pattern: [...SNAP, ':sid', 'recoveryPreviewJobs', ':jid'], area: 'recoveryPreview', GET: (s, r, c, x) => getJobRoute('preview')(s, r, c, p(x, 'jid')) },
  ...fn('getChanges').map((f): RouteSpec => ({ pattern: [...SNAP, ':sid', 'recoveryPreviewJobs', ':jid', f], area: 'recoveryPreview', GET: (s, r, c, x) => getChangesRoute(s, r, c, p(x, 'jid')) })),
  {
    pattern: [...SNAP, ':sid', 'recoveryJobs'],
    area: 'recoveryJobs',
    startsJob: true,
    GET: (s, r, c, x) => listJobsRoute('recovery')(s, r, c, p(x, 'sid')),
    POST: (s, r, c, x) => createJobRoute('recovery')(s, r, c, p(x, 'sid')),
  },
  { pattern: [...SNAP, ':sid', 'recoveryJobs', ':jid'], area: 'recoveryJobs', GET: (s, r, c, x) => getJobRoute('recovery')(s, r, c, p(x, 'jid')) },
  ...fn('getFailedChanges').map((f): RouteSpec => ({ pattern: [...SNAP, ':sid', 'recoveryJobs', ':jid', f], area: 'recoveryJobs', GET: (s, r, c, x) => getFailedChangesRoute(s, r, c, p(x, 'jid')) })),
  { pattern: ['directory', 'recovery', 'jobs'], area: 'recovery', GET: (s, r, c) => listJobsRoute(undefined)(s, r, c) },
  { pattern: ['directory', 'recovery', 'jobs', ':jid'], area: 'recovery', GET: (s, r, c, x) => getJobRoute(undefined)(s, r, c, p(x, 'jid')) },
  { pattern: ['directory', 'recovery', 'jobs', ':jid', 'cancel'], area: 'recoveryCancel', POST: (s, r, c, x) => cancelJobRoute(s, r, c, p(x, 'jid')) },
];
