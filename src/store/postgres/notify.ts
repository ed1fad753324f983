/** The channel workers LISTEN on to hear that tasks were queued (src/dispatch/pg-notify.ts). */
export const QUEUED_CHANNEL = 'orrery_queued';

/** SQL that tells the listening workers, when the transaction commits, that tasks were queued. */
export const NOTIFY_QUEUED = `pg_notify('${QUEUED_CHANNEL}', '')`;
