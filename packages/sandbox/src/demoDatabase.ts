import type { KubeConfig } from '@kubernetes/client-node';
import { execInPod } from './podExec';

/** Rows of the demo table and a checksum over all of them (what a restore must bring back exactly). */
export type DemoTableState = {
  rows: number;
  /** md5 over every row (id, item, quantity, created_at as epoch), in id order. */
  checksum: string;
};

export type DemoDatabaseTarget = {
  /** Namespace of the release (default: the one installDemoApp installed into). */
  namespace?: string;
  /** A db pod (default `<release>-db-0`). */
  pod?: string;
};

/** SQL against the demo app's PostgreSQL, by `psql` exec'd in a db pod (pods have no DNS, tests no route). */
export type DemoDatabase = {
  /** The table the helpers write and read. */
  table: string;
  /** Runs SQL (psql, ON_ERROR_STOP, unaligned tuples only); returns stdout. Throws with psql's stderr. */
  sql(options: DemoDatabaseTarget & { sql: string }): Promise<string>;
  /** Inserts `count` rows of random content in one transaction; returns the table's state afterwards. */
  addRows(options: DemoDatabaseTarget & { count: number }): Promise<DemoTableState>;
  /** The table's row count and checksum. */
  tableState(options?: DemoDatabaseTarget): Promise<DemoTableState>;
};

export const demoTable = 'orders';

const createTable = `CREATE TABLE IF NOT EXISTS ${demoTable} (
  id bigserial PRIMARY KEY,
  item text NOT NULL,
  quantity integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
)`;

const stateQuery =
  `SELECT count(*) || ' ' || coalesce(md5(string_agg(id || '|' || item || '|' || quantity || '|' || extract(epoch FROM created_at), ',' ORDER BY id)), '-') ` +
  `FROM ${demoTable}`;

/**
 * Helpers for the demo app's database (release `release`, installed in `namespace`): SQL runs as
 * the chart's user in its database through `psql` on the pod's local socket, exec'd through the
 * API server, so it works in any namespace a restore wrote, from any process.
 */
export function demoDatabase(kubeConfig: KubeConfig, options: { namespace: string; release: string }): DemoDatabase {
  const sql = async (target: DemoDatabaseTarget & { sql: string }) => {
    const namespace = target.namespace ?? options.namespace;
    const pod = target.pod ?? `${options.release}-db-0`;
    // The statement comes on stdin: no quoting through a shell.
    const result = await execInPod(kubeConfig, {
      namespace,
      pod,
      container: 'db',
      command: ['/bin/sh', '-c', 'exec psql -XAtq -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'],
      stdin: `${target.sql};\n`,
    });
    if (result.exitCode !== 0) {
      throw new Error(`psql in pod ${namespace}/${pod} exited with ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result.stdout;
  };
  const tableState = async (target: DemoDatabaseTarget = {}): Promise<DemoTableState> => {
    const out = (await sql({ ...target, sql: stateQuery })).trim();
    const match = /^(\d+) (\S+)$/.exec(out);
    if (!match) throw new Error(`unexpected answer to the state query of table ${demoTable}: ${JSON.stringify(out)}`);
    return { rows: Number(match[1]), checksum: match[2] };
  };
  return {
    table: demoTable,
    sql,
    tableState,
    async addRows(target) {
      if (!Number.isInteger(target.count) || target.count < 1) throw new Error(`addRows: count must be a positive integer, got ${target.count}`);
      await sql({
        ...target,
        sql:
          `BEGIN; ${createTable}; ` +
          `INSERT INTO ${demoTable} (item, quantity) SELECT md5(random()::text), (random() * 1000)::int FROM generate_series(1, ${target.count}); ` +
          'COMMIT',
      });
      return tableState(target);
    },
  };
}
