// @ts-check

/**
 * The Kubernetes resource behind each operation and its last status, so that details and live
 * progress are served from the index on every backend replica.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  for (const name of ['ferry_backups', 'ferry_restores']) {
    await knex.schema.alterTable(name, table => {
      table.string('resource_name').nullable().comment('namespace/name of the custom resource');
      table.text('detail').nullable().comment('JSON: the resource status last seen');
      table.string('updated_at').nullable();
    });
  }
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  for (const name of ['ferry_backups', 'ferry_restores']) {
    await knex.schema.alterTable(name, table => {
      table.dropColumn('resource_name');
      table.dropColumn('detail');
      table.dropColumn('updated_at');
    });
  }
};
