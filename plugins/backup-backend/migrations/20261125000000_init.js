// @ts-check

/**
 * The index of operations: a cache for fast listing and history across clusters. It is rebuilt
 * from the Backup/Restore resources and the repositories when lost; never the only copy.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('ferry_backups', table => {
    table.comment('Backups known to Ferry, synced from Backup resources and repositories');
    table.string('id').primary().notNullable().comment('Backup id, sorts by time');
    table.string('entity_ref').notNullable().comment('Catalog entity the backup belongs to');
    table.string('cluster').notNullable();
    table.string('namespace').notNullable();
    table.string('target').notNullable();
    table.string('kind').notNullable().comment('full or incremental');
    table.string('phase').notNullable();
    table.string('policy').nullable();
    table.text('trigger').notNullable().comment('JSON: who or what started it');
    table.string('created_at').notNullable().comment('ISO 8601');
    table.string('completed_at').nullable();
    table.bigInteger('logical_bytes').nullable();
    table.bigInteger('stored_bytes').nullable();
    table.text('message').nullable();
    table.index(['entity_ref', 'created_at'], 'ferry_backups_entity_idx');
  });
  await knex.schema.createTable('ferry_restores', table => {
    table.comment('Restores known to Ferry, synced from Restore resources');
    table.string('id').primary().notNullable();
    table.string('entity_ref').notNullable();
    table.string('backup_id').notNullable();
    table.string('cluster').notNullable();
    table.string('namespace').notNullable();
    table.string('phase').notNullable();
    table.text('trigger').notNullable();
    table.string('created_at').notNullable();
    table.string('completed_at').nullable();
    table.text('message').nullable();
    table.index(['entity_ref', 'created_at'], 'ferry_restores_entity_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('ferry_restores');
  await knex.schema.dropTable('ferry_backups');
};
