/* test_db_schema.c — the migrations against the seed schema (seeds/000): columns, indexes,
 * constraints, foreign keys with their ON DELETE rules and triggers, checked on a live
 * database against expectations written by hand from the seed; plus their behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "db/db.h"
#include "db/migrate.h"
#include "db_fixture.h"

/* The seed's ten tables are migrations 1..10; Lever's first own tables 11..14. */
enum { LAST_SEED_MIGRATION = 10, LAST_BASE_MIGRATION = 14 };

/* Column descriptions as "name|data_type|char_max_length|numeric_precision|numeric_scale|
 * is_nullable|column_default", the way information_schema.columns reports the seed's types. */
#define INT              "integer||32|0|"
#define VC(n)            "character varying|" #n "|||"
#define TEXT             "text||||"
#define JSONB            "jsonb||||"
#define TS               "timestamp without time zone||||"
#define DATE             "date||||"
#define BOOL             "boolean||||"
#define NUM(p, s)        "numeric||" #p "|" #s "|"
#define TIME             "time without time zone||||"
#define ARRAY            "ARRAY||||"
#define BYTEA            "bytea||||"
#define FLOAT8           "double precision||53||"
#define NOT_NULL         "NO|"
#define NULLABLE         "YES|"
#define NOW              "CURRENT_TIMESTAMP"
#define SERIAL_ID(table) "id|" INT NOT_NULL "nextval('" table "_id_seq'::regclass)"

struct table_expect {
    const char *name;
    const char *const *columns; /* NULL-terminated, in ordinal order */
    const char *const *indexes; /* NULL-terminated pg_indexes.indexdef, by index name */
};

static const char *const users_columns[] = {SERIAL_ID("users"),
                                            "discord_id|" VC(255) NOT_NULL,
                                            "username|" VC(255) NOT_NULL,
                                            "discriminator|" VC(10) NULLABLE,
                                            "email|" VC(255) NULLABLE,
                                            "avatar_url|" TEXT NULLABLE,
                                            "alpaca_api_key_encrypted|" TEXT NULLABLE,
                                            "alpaca_api_secret_encrypted|" TEXT NULLABLE,
                                            "preferences|" JSONB NULLABLE "'{}'::jsonb",
                                            "created_at|" TS NOT_NULL NOW,
                                            "updated_at|" TS NOT_NULL NOW,
                                            "last_login_at|" TS NULLABLE,
                                            NULL};
static const char *const users_indexes[] = {
    "CREATE INDEX idx_users_discord_id ON public.users USING btree (discord_id)",
    "CREATE INDEX idx_users_email ON public.users USING btree (email)",
    "CREATE UNIQUE INDEX users_discord_id_key ON public.users USING btree (discord_id)",
    "CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)", NULL};

static const char *const strategies_columns[] = {SERIAL_ID("strategies"),
                                                 "user_id|" INT NOT_NULL,
                                                 "name|" VC(500) NOT_NULL,
                                                 "description|" TEXT NULLABLE,
                                                 "elements|" JSONB NOT_NULL "'[]'::jsonb",
                                                 "benchmark_symbol|" VC(50) NULLABLE
                                                 "'SPY'::character varying",
                                                 "start_date|" DATE NULLABLE,
                                                 "end_date|" DATE NULLABLE,
                                                 "tags|" ARRAY NULLABLE,
                                                 "is_public|" BOOL NULLABLE "false",
                                                 "is_archived|" BOOL NULLABLE "false",
                                                 "created_at|" TS NOT_NULL NOW,
                                                 "updated_at|" TS NOT_NULL NOW,
                                                 NULL};
static const char *const strategies_indexes[] = {
    "CREATE INDEX idx_strategies_created_at ON public.strategies USING btree (created_at DESC)",
    "CREATE INDEX idx_strategies_is_public ON public.strategies USING btree (is_public) WHERE "
    "(is_public = true)",
    "CREATE INDEX idx_strategies_tags ON public.strategies USING gin (tags)",
    "CREATE INDEX idx_strategies_user_id ON public.strategies USING btree (user_id)",
    "CREATE UNIQUE INDEX strategies_pkey ON public.strategies USING btree (id)",
    NULL};

static const char *const backtest_results_columns[] = {SERIAL_ID("backtest_results"),
                                                       "strategy_id|" INT NULLABLE,
                                                       "user_id|" INT NOT_NULL,
                                                       "start_date|" DATE NOT_NULL,
                                                       "end_date|" DATE NOT_NULL,
                                                       "benchmark_symbol|" VC(50) NULLABLE,
                                                       "strategy_elements|" JSONB NOT_NULL,
                                                       "metrics|" JSONB NOT_NULL,
                                                       "equity_curve|" JSONB NULLABLE,
                                                       "positions|" JSONB NULLABLE,
                                                       "created_at|" TS NOT_NULL NOW,
                                                       NULL};
static const char *const backtest_results_indexes[] = {
    "CREATE UNIQUE INDEX backtest_results_pkey ON public.backtest_results USING btree (id)",
    "CREATE INDEX idx_backtest_results_created_at ON public.backtest_results USING btree "
    "(created_at DESC)",
    "CREATE INDEX idx_backtest_results_strategy_id ON public.backtest_results USING btree "
    "(strategy_id)",
    "CREATE INDEX idx_backtest_results_user_id ON public.backtest_results USING btree (user_id)",
    NULL};

static const char *const batch_jobs_columns[] = {"id|" VC(255) NOT_NULL,
                                                 "user_id|" INT NULLABLE,
                                                 "strategy_id|" INT NULLABLE,
                                                 "name|" VC(500) NOT_NULL,
                                                 "kind|" VC(50) NOT_NULL
                                                 "'server'::character varying",
                                                 "status|" VC(50) NOT_NULL,
                                                 "total|" INT NOT_NULL "0",
                                                 "completed|" INT NOT_NULL "0",
                                                 "created_at|" TS NOT_NULL NOW,
                                                 "updated_at|" TS NOT_NULL NOW,
                                                 "completed_at|" TS NULLABLE,
                                                 "error|" TEXT NULLABLE,
                                                 "truncated|" BOOL NOT_NULL "false",
                                                 "variables|" JSONB NOT_NULL "'[]'::jsonb",
                                                 "strategy_elements|" JSONB NOT_NULL,
                                                 "start_date|" DATE NULLABLE,
                                                 "end_date|" DATE NULLABLE,
                                                 "benchmark_symbol|" VC(50) NULLABLE,
                                                 "assignments_preview|" JSONB NULLABLE,
                                                 "summary|" JSONB NULLABLE,
                                                 NULL};
static const char *const batch_jobs_indexes[] = {
    "CREATE UNIQUE INDEX batch_jobs_pkey ON public.batch_jobs USING btree (id)",
    "CREATE INDEX idx_batch_jobs_created_at ON public.batch_jobs USING btree (created_at DESC)",
    "CREATE INDEX idx_batch_jobs_status ON public.batch_jobs USING btree (status)",
    "CREATE INDEX idx_batch_jobs_strategy_id ON public.batch_jobs USING btree (strategy_id)",
    "CREATE INDEX idx_batch_jobs_user_id ON public.batch_jobs USING btree (user_id)",
    NULL};

static const char *const batch_job_runs_columns[] = {SERIAL_ID("batch_job_runs"),
                                                     "batch_job_id|" VC(255) NOT_NULL,
                                                     "run_index|" INT NOT_NULL,
                                                     "variables|" JSONB NOT_NULL,
                                                     "metrics|" JSONB NOT_NULL,
                                                     "created_at|" TS NOT_NULL NOW,
                                                     NULL};
static const char *const batch_job_runs_indexes[] = {
    "CREATE UNIQUE INDEX batch_job_runs_batch_job_id_run_index_key ON public.batch_job_runs "
    "USING btree (batch_job_id, run_index)",
    "CREATE UNIQUE INDEX batch_job_runs_pkey ON public.batch_job_runs USING btree (id)",
    "CREATE INDEX idx_batch_job_runs_batch_job_id ON public.batch_job_runs USING btree "
    "(batch_job_id)",
    "CREATE INDEX idx_batch_job_runs_metrics ON public.batch_job_runs USING gin (metrics)", NULL};

static const char *const active_strategies_columns[] = {SERIAL_ID("active_strategies"),
                                                        "user_id|" INT NOT_NULL,
                                                        "strategy_id|" INT NOT_NULL,
                                                        "mode|" VC(50) NOT_NULL,
                                                        "status|" VC(50) NOT_NULL
                                                        "'active'::character varying",
                                                        "initial_capital|" NUM(15, 2) NOT_NULL,
                                                        "current_capital|" NUM(15, 2) NULLABLE,
                                                        "started_at|" TS NOT_NULL NOW,
                                                        "stopped_at|" TS NULLABLE,
                                                        "last_rebalance_at|" TS NULLABLE,
                                                        "rebalance_frequency|" VC(50) NULLABLE,
                                                        "rebalance_time|" TIME NULLABLE,
                                                        NULL};
static const char *const active_strategies_indexes[] = {
    "CREATE UNIQUE INDEX active_strategies_pkey ON public.active_strategies USING btree (id)",
    "CREATE UNIQUE INDEX active_strategies_user_id_strategy_id_mode_key ON "
    "public.active_strategies USING btree (user_id, strategy_id, mode)",
    "CREATE INDEX idx_active_strategies_status ON public.active_strategies USING btree (status)",
    "CREATE INDEX idx_active_strategies_user_id ON public.active_strategies USING btree "
    "(user_id)",
    NULL};

static const char *const active_strategy_snapshots_columns[] = {
    SERIAL_ID("active_strategy_snapshots"),
    "active_strategy_id|" INT NOT_NULL,
    "snapshot_date|" DATE NOT_NULL,
    "equity|" NUM(15, 2) NOT_NULL,
    "holdings|" JSONB NULLABLE,
    "daily_return|" NUM(10, 6) NULLABLE,
    "cumulative_return|" NUM(10, 6) NULLABLE,
    "created_at|" TS NOT_NULL NOW,
    NULL};
static const char *const active_strategy_snapshots_indexes[] = {
    "CREATE UNIQUE INDEX active_strategy_snapshots_active_strategy_id_snapshot_date_key ON "
    "public.active_strategy_snapshots USING btree (active_strategy_id, snapshot_date)",
    "CREATE UNIQUE INDEX active_strategy_snapshots_pkey ON public.active_strategy_snapshots "
    "USING btree (id)",
    "CREATE INDEX idx_active_strategy_snapshots_active_strategy_id ON "
    "public.active_strategy_snapshots USING btree (active_strategy_id)",
    "CREATE INDEX idx_active_strategy_snapshots_date ON public.active_strategy_snapshots USING "
    "btree (snapshot_date DESC)",
    NULL};

static const char *const variable_lists_columns[] = {SERIAL_ID("variable_lists"),
                                                     "user_id|" INT NOT_NULL,
                                                     "name|" VC(255) NOT_NULL,
                                                     "type|" VC(50) NOT_NULL,
                                                     "values|" JSONB NOT_NULL "'[]'::jsonb",
                                                     "description|" TEXT NULLABLE,
                                                     "is_shared|" BOOL NULLABLE "false",
                                                     "created_at|" TS NOT_NULL NOW,
                                                     "updated_at|" TS NOT_NULL NOW,
                                                     NULL};
static const char *const variable_lists_indexes[] = {
    "CREATE INDEX idx_variable_lists_user_id ON public.variable_lists USING btree (user_id)",
    "CREATE UNIQUE INDEX variable_lists_pkey ON public.variable_lists USING btree (id)",
    "CREATE UNIQUE INDEX variable_lists_user_id_name_key ON public.variable_lists USING btree "
    "(user_id, name)",
    NULL};

static const char *const execution_orders_columns[] = {SERIAL_ID("execution_orders"),
                                                       "active_strategy_id|" INT NOT_NULL,
                                                       "alpaca_order_id|" VC(255) NULLABLE,
                                                       "symbol|" VC(50) NOT_NULL,
                                                       "side|" VC(10) NOT_NULL,
                                                       "quantity|" NUM(15, 6) NOT_NULL,
                                                       "order_type|" VC(50) NULLABLE,
                                                       "status|" VC(50) NULLABLE,
                                                       "limit_price|" NUM(15, 6) NULLABLE,
                                                       "filled_price|" NUM(15, 6) NULLABLE,
                                                       "filled_quantity|" NUM(15, 6) NULLABLE,
                                                       "submitted_at|" TS NOT_NULL NOW,
                                                       "filled_at|" TS NULLABLE,
                                                       "error_message|" TEXT NULLABLE,
                                                       NULL};
static const char *const execution_orders_indexes[] = {
    "CREATE UNIQUE INDEX execution_orders_alpaca_order_id_key ON public.execution_orders USING "
    "btree (alpaca_order_id)",
    "CREATE UNIQUE INDEX execution_orders_pkey ON public.execution_orders USING btree (id)",
    "CREATE INDEX idx_execution_orders_active_strategy_id ON public.execution_orders USING "
    "btree (active_strategy_id)",
    "CREATE INDEX idx_execution_orders_alpaca_order_id ON public.execution_orders USING btree "
    "(alpaca_order_id)",
    "CREATE INDEX idx_execution_orders_submitted_at ON public.execution_orders USING btree "
    "(submitted_at DESC)",
    NULL};

static const char *const api_usage_logs_columns[] = {
    SERIAL_ID("api_usage_logs"),   "user_id|" INT NULLABLE,
    "endpoint|" VC(255) NOT_NULL,  "method|" VC(10) NOT_NULL,
    "status_code|" INT NULLABLE,   "duration_ms|" INT NULLABLE,
    "created_at|" TS NOT_NULL NOW, NULL};
static const char *const api_usage_logs_indexes[] = {
    "CREATE UNIQUE INDEX api_usage_logs_pkey ON public.api_usage_logs USING btree (id)",
    "CREATE INDEX idx_api_usage_logs_created_at ON public.api_usage_logs USING btree "
    "(created_at DESC)",
    "CREATE INDEX idx_api_usage_logs_user_id ON public.api_usage_logs USING btree (user_id)", NULL};

static const struct table_expect seed_tables[] = {
    {"users", users_columns, users_indexes},
    {"strategies", strategies_columns, strategies_indexes},
    {"backtest_results", backtest_results_columns, backtest_results_indexes},
    {"batch_jobs", batch_jobs_columns, batch_jobs_indexes},
    {"batch_job_runs", batch_job_runs_columns, batch_job_runs_indexes},
    {"active_strategies", active_strategies_columns, active_strategies_indexes},
    {"active_strategy_snapshots", active_strategy_snapshots_columns,
     active_strategy_snapshots_indexes},
    {"variable_lists", variable_lists_columns, variable_lists_indexes},
    {"execution_orders", execution_orders_columns, execution_orders_indexes},
    {"api_usage_logs", api_usage_logs_columns, api_usage_logs_indexes},
};

/* Lever's own base tables (migrations 11..14), as the brief defines them. */
static const char *const api_tokens_columns[] = {
    SERIAL_ID("api_tokens"),         "user_id|" INT NOT_NULL,
    "name|" VC(255) NOT_NULL,        "token_hash|" BYTEA NOT_NULL,
    "token_prefix|" VC(16) NOT_NULL, "created_at|" TS NOT_NULL NOW,
    "last_used_at|" TS NULLABLE,     "expires_at|" TS NULLABLE,
    "revoked_at|" TS NULLABLE,       NULL};
static const char *const api_tokens_indexes[] = {
    "CREATE UNIQUE INDEX api_tokens_pkey ON public.api_tokens USING btree (id)",
    "CREATE UNIQUE INDEX api_tokens_token_hash_key ON public.api_tokens USING btree (token_hash)",
    "CREATE INDEX idx_api_tokens_user_id ON public.api_tokens USING btree (user_id)", NULL};
static const char *const bars_columns[] = {"symbol|" VC(50) NOT_NULL,
                                           "day|" DATE NOT_NULL,
                                           "open|" FLOAT8 NOT_NULL,
                                           "high|" FLOAT8 NOT_NULL,
                                           "low|" FLOAT8 NOT_NULL,
                                           "close|" FLOAT8 NOT_NULL,
                                           "volume|" FLOAT8 NOT_NULL,
                                           "source|" VC(16) NOT_NULL "'csv'::character varying",
                                           NULL};
static const char *const bars_indexes[] = {
    "CREATE UNIQUE INDEX bars_pkey ON public.bars USING btree (symbol, day)", NULL};
static const char *const market_calendar_columns[] = {"day|" DATE NOT_NULL, "open_at|" TS NOT_NULL,
                                                      "close_at|" TS NOT_NULL,
                                                      "early_close|" BOOL NOT_NULL "false", NULL};
static const char *const market_calendar_indexes[] = {
    "CREATE UNIQUE INDEX market_calendar_pkey ON public.market_calendar USING btree (day)", NULL};
static const char *const assets_columns[] = {"symbol|" VC(50) NOT_NULL,
                                             "name|" VC(255) NULLABLE,
                                             "exchange|" VC(50) NULLABLE,
                                             "fractionable|" BOOL NOT_NULL "false",
                                             "tradable|" BOOL NOT_NULL "true",
                                             "updated_at|" TS NOT_NULL NOW,
                                             NULL};
static const char *const assets_indexes[] = {
    "CREATE UNIQUE INDEX assets_pkey ON public.assets USING btree (symbol)", NULL};

static const struct table_expect lever_tables[] = {
    {"api_tokens", api_tokens_columns, api_tokens_indexes},
    {"bars", bars_columns, bars_indexes},
    {"market_calendar", market_calendar_columns, market_calendar_indexes},
    {"assets", assets_columns, assets_indexes},
};

/* Primary keys and unique constraints of the seed, as "table definition". */
static const char *const seed_keys[] = {
    "active_strategies PRIMARY KEY (id)",
    "active_strategies UNIQUE (user_id, strategy_id, mode)",
    "active_strategy_snapshots PRIMARY KEY (id)",
    "active_strategy_snapshots UNIQUE (active_strategy_id, snapshot_date)",
    "api_usage_logs PRIMARY KEY (id)",
    "backtest_results PRIMARY KEY (id)",
    "batch_job_runs PRIMARY KEY (id)",
    "batch_job_runs UNIQUE (batch_job_id, run_index)",
    "batch_jobs PRIMARY KEY (id)",
    "execution_orders PRIMARY KEY (id)",
    "execution_orders UNIQUE (alpaca_order_id)",
    "schema_migrations PRIMARY KEY (version)",
    "strategies PRIMARY KEY (id)",
    "users PRIMARY KEY (id)",
    "users UNIQUE (discord_id)",
    "variable_lists PRIMARY KEY (id)",
    "variable_lists UNIQUE (user_id, name)",
    NULL};

/* Every foreign key of the seed with its delete rule, "table.column -> table.column RULE". */
static const char *const seed_foreign_keys[] = {
    "active_strategies.strategy_id -> strategies.id CASCADE",
    "active_strategies.user_id -> users.id CASCADE",
    "active_strategy_snapshots.active_strategy_id -> active_strategies.id CASCADE",
    "api_usage_logs.user_id -> users.id SET NULL",
    "backtest_results.strategy_id -> strategies.id SET NULL",
    "backtest_results.user_id -> users.id CASCADE",
    "batch_job_runs.batch_job_id -> batch_jobs.id CASCADE",
    "batch_jobs.strategy_id -> strategies.id SET NULL",
    "batch_jobs.user_id -> users.id SET NULL",
    "execution_orders.active_strategy_id -> active_strategies.id CASCADE",
    "strategies.user_id -> users.id CASCADE",
    "variable_lists.user_id -> users.id CASCADE",
    NULL};

static const char *const seed_triggers[] = {
    "CREATE TRIGGER update_batch_jobs_updated_at BEFORE UPDATE ON public.batch_jobs FOR EACH ROW "
    "EXECUTE FUNCTION update_updated_at_column()",
    "CREATE TRIGGER update_strategies_updated_at BEFORE UPDATE ON public.strategies FOR EACH ROW "
    "EXECUTE FUNCTION update_updated_at_column()",
    "CREATE TRIGGER update_users_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE "
    "FUNCTION update_updated_at_column()",
    "CREATE TRIGGER update_variable_lists_updated_at BEFORE UPDATE ON public.variable_lists FOR "
    "EACH ROW EXECUTE FUNCTION update_updated_at_column()",
    NULL};

/* Runs a query with one text parameter and checks that column 0 of its rows equals expected
 * (NULL-terminated), row by row, naming what differs. */
static void assert_rows(PGconn *conn, const char *what, const char *sql, const char *param,
                        const char *const *expected)
{
    struct lv_db_error err;
    const char *const params[] = {param};
    PGresult *res = lv_db_query(conn, sql, param != NULL ? 1 : 0, params, &err);
    if (res == NULL)
        fail_msg("%s: %s", what, err.message);
    int n_expected = 0;
    while (expected[n_expected] != NULL)
        n_expected++;
    for (int i = 0; i < PQntuples(res) || i < n_expected; i++) {
        const char *got = i < PQntuples(res) ? PQgetvalue(res, i, 0) : "(no row)";
        const char *want = i < n_expected ? expected[i] : "(no row)";
        if (strcmp(got, want) != 0) {
            print_error("%s row %d:\n  expected: %s\n  got:      %s\n", what, i + 1, want, got);
            PQclear(res);
            fail();
        }
    }
    PQclear(res);
}

static const char COLUMNS_SQL[] =
    "SELECT column_name || '|' || data_type || '|' || coalesce(character_maximum_length::text, "
    "'') || '|' || coalesce(numeric_precision::text, '') || '|' || coalesce(numeric_scale::text, "
    "'') || '|' || is_nullable || '|' || coalesce(column_default, '') "
    "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 "
    "ORDER BY ordinal_position";

static const char INDEXES_SQL[] = "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                  "AND tablename = $1 ORDER BY indexname COLLATE \"C\"";

static void assert_tables(PGconn *conn, const struct table_expect *tables, size_t n)
{
    char what[128];
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "columns of %s", tables[i].name);
        assert_rows(conn, what, COLUMNS_SQL, tables[i].name, tables[i].columns);
        snprintf(what, sizeof what, "indexes of %s", tables[i].name);
        assert_rows(conn, what, INDEXES_SQL, tables[i].name, tables[i].indexes);
    }
}

/* ---- Structure ----------------------------------------------------------------------------- */

static void test_seed_schema_is_exact(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_error err;
    int applied = lv_migrate_up_to(fx->conn, LAST_SEED_MIGRATION, NULL, NULL, &err);
    if (applied < 0)
        fail_msg("%s", err.message);
    assert_int_equal(applied, LAST_SEED_MIGRATION);

    assert_tables(fx->conn, seed_tables, sizeof seed_tables / sizeof seed_tables[0]);

    static const char *const tables[] = {"active_strategies", "active_strategy_snapshots",
                                         "api_usage_logs",    "backtest_results",
                                         "batch_job_runs",    "batch_jobs",
                                         "execution_orders",  "schema_migrations",
                                         "strategies",        "users",
                                         "variable_lists",    NULL};
    assert_rows(fx->conn, "tables",
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
                "ORDER BY table_name COLLATE \"C\"",
                NULL, tables);
    assert_rows(fx->conn, "keys",
                "SELECT d FROM (SELECT conrelid::regclass::text || ' ' || "
                "pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE contype IN ('p', 'u') "
                "AND connamespace = 'public'::regnamespace) k ORDER BY d COLLATE \"C\"",
                NULL, seed_keys);
    assert_rows(fx->conn, "foreign keys",
                "SELECT d FROM (SELECT kcu.table_name || '.' || kcu.column_name || ' -> ' || "
                "ccu.table_name || '.' || ccu.column_name || ' ' || rc.delete_rule AS d "
                "FROM information_schema.referential_constraints rc "
                "JOIN information_schema.key_column_usage kcu ON kcu.constraint_schema = "
                "rc.constraint_schema AND kcu.constraint_name = rc.constraint_name "
                "JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_schema = "
                "rc.constraint_schema AND ccu.constraint_name = rc.constraint_name "
                "WHERE rc.constraint_schema = 'public') f ORDER BY d COLLATE \"C\"",
                NULL, seed_foreign_keys);
    assert_rows(fx->conn, "triggers",
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "
                "ORDER BY tgname COLLATE \"C\"",
                NULL, seed_triggers);
    static const char *const function[] = {"plpgsql|trigger|true", NULL};
    assert_rows(fx->conn, "update_updated_at_column()",
                "SELECT l.lanname || '|' || p.prorettype::regtype || '|' || "
                "(p.prosrc LIKE '%NEW.updated_at = CURRENT_TIMESTAMP;%RETURN NEW;%')::text "
                "FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
                "WHERE p.proname = 'update_updated_at_column'",
                NULL, function);
}

static void test_lever_base_tables(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_error err;
    int applied = lv_migrate_up_to(fx->conn, LAST_BASE_MIGRATION, NULL, NULL, &err);
    if (applied < 0)
        fail_msg("%s", err.message);
    assert_int_equal(applied, LAST_BASE_MIGRATION);
    assert_tables(fx->conn, lever_tables, sizeof lever_tables / sizeof lever_tables[0]);
    static const char *const extra_fks[] = {"api_tokens.user_id -> users.id CASCADE", NULL};
    assert_rows(fx->conn, "api_tokens foreign key",
                "SELECT kcu.table_name || '.' || kcu.column_name || ' -> ' || ccu.table_name || "
                "'.' || ccu.column_name || ' ' || rc.delete_rule "
                "FROM information_schema.referential_constraints rc "
                "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = "
                "rc.constraint_name JOIN information_schema.constraint_column_usage ccu ON "
                "ccu.constraint_name = rc.constraint_name WHERE kcu.table_name = $1",
                "api_tokens", extra_fks);
    static const char *const source_check[] = {"CHECK (((source)::text = ANY "
                                               "((ARRAY['csv'::character varying, "
                                               "'alpaca'::character varying, 'synthetic'::"
                                               "character varying])::text[])))",
                                               NULL};
    assert_rows(fx->conn, "bars.source check",
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND "
                "conrelid = 'bars'::regclass",
                NULL, source_check);
}

/* ---- Migration runner ------------------------------------------------------------------- */

static void test_migrate_is_idempotent(void **state)
{
    struct db_fixture *fx = *state;
    struct lv_db_error err;
    assert_int_equal(lv_migrate_current_version(fx->conn, &err), 0);
    assert_int_equal(lv_migrate(fx->conn, NULL, NULL, &err), (int)lv_migrations_count);
    assert_int_equal(lv_migrate(fx->conn, NULL, NULL, &err), 0);
    assert_int_equal(lv_migrate_current_version(fx->conn, &err),
                     lv_migrations[lv_migrations_count - 1].version);
    char value[64];
    char expected[64];
    snprintf(expected, sizeof expected, "%zu", lv_migrations_count);
    assert_string_equal(
        db_fixture_value(fx->conn, "SELECT count(*) FROM schema_migrations", value, sizeof value),
        expected);
    assert_string_equal(db_fixture_value(fx->conn,
                                         "SELECT name FROM schema_migrations WHERE version = 5",
                                         value, sizeof value),
                        "batch_job_runs");
}

static void test_embedded_migrations_are_ordered(void **state)
{
    (void)state;
    assert_true(lv_migrations_count >= LAST_BASE_MIGRATION);
    static const char *const seed_order[] = {"users",
                                             "strategies",
                                             "backtest_results",
                                             "batch_jobs",
                                             "batch_job_runs",
                                             "active_strategies",
                                             "active_strategy_snapshots",
                                             "variable_lists",
                                             "execution_orders",
                                             "api_usage_logs"};
    for (int i = 0; i < LAST_SEED_MIGRATION; i++) {
        assert_int_equal(lv_migrations[i].version, i + 1);
        assert_string_equal(lv_migrations[i].name, seed_order[i]);
    }
    for (size_t i = 1; i < lv_migrations_count; i++)
        assert_true(lv_migrations[i].version > lv_migrations[i - 1].version);
}

static void record_applied(const struct lv_migration *migration, void *arg)
{
    int *last = arg;
    *last = migration->version;
}

/* A migration that fails leaves the earlier ones applied and itself not recorded. */
static void test_failed_migration_rolls_back(void **state)
{
    struct db_fixture *fx = *state;
    /* Make migration 2 fail: a table named strategies already exists. */
    struct lv_db_error err;
    int last = 0;
    assert_int_equal(lv_migrate_up_to(fx->conn, 1, record_applied, &last, &err), 1);
    assert_int_equal(last, 1);
    db_fixture_exec(fx->conn, "CREATE TABLE strategies (x int)");
    assert_int_equal(lv_migrate(fx->conn, record_applied, &last, &err), -1);
    assert_string_equal(err.sqlstate, "42P07"); /* duplicate_table */
    assert_non_null(strstr(err.message, "0002_strategies"));
    assert_int_equal(lv_migrate_current_version(fx->conn, &err), 1);
    char value[64];
    /* Nothing of 0002 survived: its indexes were rolled back with it. */
    assert_string_equal(db_fixture_value(fx->conn,
                                         "SELECT count(*) FROM pg_indexes WHERE indexname = "
                                         "'idx_strategies_user_id'",
                                         value, sizeof value),
                        "0");
    /* The advisory lock was released: another session can take it at once. */
    PGconn *other = lv_db_connect(fx->url, &err);
    assert_non_null(other);
    assert_string_equal(db_fixture_value(other, "SELECT pg_try_advisory_lock(108101118101114)",
                                         value, sizeof value),
                        "t");
    PQfinish(other);
}

/* ---- Behaviour: triggers and ON DELETE rules ----------------------------------------------- */

static const char GRAPH_SQL[] =
    "INSERT INTO users (id, discord_id, username) VALUES (1, 'd1', 'u1'), (2, 'd2', 'u2');"
    "INSERT INTO strategies (id, user_id, name) VALUES (10, 1, 's1'), (20, 2, 's2');"
    "INSERT INTO backtest_results (id, strategy_id, user_id, start_date, end_date, "
    "  strategy_elements, metrics) VALUES (100, 10, 2, '2020-01-01', '2020-12-31', '[]', '{}');"
    "INSERT INTO batch_jobs (id, user_id, strategy_id, name, status, strategy_elements) "
    "  VALUES ('job1', 1, 20, 'j', 'queued', '[]');"
    "INSERT INTO batch_job_runs (id, batch_job_id, run_index, variables, metrics) "
    "  VALUES (1000, 'job1', 0, '{}', '{}');"
    "INSERT INTO active_strategies (id, user_id, strategy_id, mode, initial_capital) "
    "  VALUES (50, 2, 10, 'paper', 1000);"
    "INSERT INTO active_strategy_snapshots (id, active_strategy_id, snapshot_date, equity) "
    "  VALUES (500, 50, '2024-01-02', 1000);"
    "INSERT INTO variable_lists (id, user_id, name, type) VALUES (60, 1, 'v', 'ticker');"
    "INSERT INTO execution_orders (id, active_strategy_id, symbol, side, quantity) "
    "  VALUES (600, 50, 'SPY', 'buy', 1);"
    "INSERT INTO api_usage_logs (id, user_id, endpoint, method) VALUES (700, 1, '/x', 'GET');"
    "INSERT INTO api_tokens (id, user_id, name, token_hash, token_prefix) "
    "  VALUES (800, 1, 't', '\\x01', 'lv_');";

/* One foreign key's rule: after `delete_sql`, `check_sql` returns `expected`. Each case's
 * parent is chosen so that no other foreign key could produce the same effect. */
struct delete_case {
    const char *fk;
    const char *delete_sql;
    const char *check_sql;
    const char *expected;
};

static const struct delete_case delete_cases[] = {
    {"strategies.user_id CASCADE", "DELETE FROM users WHERE id = 1",
     "SELECT count(*) FROM strategies WHERE id = 10", "0"},
    {"backtest_results.strategy_id SET NULL", "DELETE FROM strategies WHERE id = 10",
     "SELECT coalesce(strategy_id::text, 'null') FROM backtest_results WHERE id = 100", "null"},
    {"backtest_results.user_id CASCADE", "DELETE FROM users WHERE id = 2",
     "SELECT count(*) FROM backtest_results WHERE id = 100", "0"},
    {"batch_jobs.user_id SET NULL", "DELETE FROM users WHERE id = 1",
     "SELECT coalesce(user_id::text, 'null') || '/' || strategy_id FROM batch_jobs "
     "WHERE id = 'job1'",
     "null/20"},
    {"batch_jobs.strategy_id SET NULL", "DELETE FROM strategies WHERE id = 20",
     "SELECT user_id || '/' || coalesce(strategy_id::text, 'null') FROM batch_jobs "
     "WHERE id = 'job1'",
     "1/null"},
    {"batch_job_runs.batch_job_id CASCADE", "DELETE FROM batch_jobs WHERE id = 'job1'",
     "SELECT count(*) FROM batch_job_runs WHERE id = 1000", "0"},
    {"active_strategies.user_id CASCADE", "DELETE FROM users WHERE id = 2",
     "SELECT count(*) FROM active_strategies WHERE id = 50", "0"},
    {"active_strategies.strategy_id CASCADE", "DELETE FROM strategies WHERE id = 10",
     "SELECT count(*) FROM active_strategies WHERE id = 50", "0"},
    {"active_strategy_snapshots.active_strategy_id CASCADE",
     "DELETE FROM active_strategies WHERE id = 50",
     "SELECT count(*) FROM active_strategy_snapshots WHERE id = 500", "0"},
    {"variable_lists.user_id CASCADE", "DELETE FROM users WHERE id = 1",
     "SELECT count(*) FROM variable_lists WHERE id = 60", "0"},
    {"execution_orders.active_strategy_id CASCADE", "DELETE FROM active_strategies WHERE id = 50",
     "SELECT count(*) FROM execution_orders WHERE id = 600", "0"},
    {"api_usage_logs.user_id SET NULL", "DELETE FROM users WHERE id = 1",
     "SELECT coalesce(user_id::text, 'null') FROM api_usage_logs WHERE id = 700", "null"},
    {"api_tokens.user_id CASCADE", "DELETE FROM users WHERE id = 1",
     "SELECT count(*) FROM api_tokens WHERE id = 800", "0"},
};

static void test_on_delete_rules(void **state)
{
    struct db_fixture *fx = *state;
    char value[64];
    for (size_t i = 0; i < sizeof delete_cases / sizeof delete_cases[0]; i++) {
        const struct delete_case *c = &delete_cases[i];
        db_fixture_exec(fx->conn, "BEGIN");
        db_fixture_exec(fx->conn, GRAPH_SQL);
        db_fixture_exec(fx->conn, c->delete_sql);
        db_fixture_value(fx->conn, c->check_sql, value, sizeof value);
        if (strcmp(value, c->expected) != 0)
            fail_msg("%s: expected '%s', got '%s'", c->fk, c->expected, value);
        db_fixture_exec(fx->conn, "ROLLBACK");
    }
    /* The graph's children really were there before: a delete with no parent match changes
     * nothing (guards against a check that passes because the row never existed). */
    db_fixture_exec(fx->conn, "BEGIN");
    db_fixture_exec(fx->conn, GRAPH_SQL);
    assert_string_equal(db_fixture_value(fx->conn,
                                         "SELECT (SELECT count(*) FROM strategies) + (SELECT "
                                         "count(*) FROM backtest_results) + (SELECT count(*) "
                                         "FROM batch_job_runs) + (SELECT count(*) FROM "
                                         "active_strategy_snapshots) + (SELECT count(*) FROM "
                                         "execution_orders) + (SELECT count(*) FROM api_tokens) "
                                         "+ (SELECT count(*) FROM variable_lists)",
                                         value, sizeof value),
                        "8");
    db_fixture_exec(fx->conn, "ROLLBACK");
}

struct trigger_case {
    const char *table;
    const char *insert_sql; /* inserts one row with updated_at in 2000 */
    const char *update_sql;
    const char *check_sql; /* 't' when updated_at moved to now */
};

static const struct trigger_case trigger_cases[] = {
    {"users",
     "INSERT INTO users (id, discord_id, username, updated_at) VALUES (1, 'd', 'u', "
     "'2000-01-01')",
     "UPDATE users SET username = 'v' WHERE id = 1",
     "SELECT updated_at = CURRENT_TIMESTAMP::timestamp FROM users WHERE id = 1"},
    {"strategies",
     "INSERT INTO strategies (id, user_id, name, updated_at) VALUES (1, 1, 's', '2000-01-01')",
     "UPDATE strategies SET name = 't' WHERE id = 1",
     "SELECT updated_at = CURRENT_TIMESTAMP::timestamp FROM strategies WHERE id = 1"},
    {"batch_jobs",
     "INSERT INTO batch_jobs (id, name, status, strategy_elements, updated_at) VALUES ('j', "
     "'j', 'queued', '[]', '2000-01-01')",
     "UPDATE batch_jobs SET status = 'running' WHERE id = 'j'",
     "SELECT updated_at = CURRENT_TIMESTAMP::timestamp FROM batch_jobs WHERE id = 'j'"},
    {"variable_lists",
     "INSERT INTO variable_lists (id, user_id, name, type, updated_at) VALUES (1, 1, 'v', "
     "'ticker', '2000-01-01')",
     "UPDATE variable_lists SET name = 'w' WHERE id = 1",
     "SELECT updated_at = CURRENT_TIMESTAMP::timestamp FROM variable_lists WHERE id = 1"},
    {"assets", "INSERT INTO assets (symbol, updated_at) VALUES ('SPY', '2000-01-01')",
     "UPDATE assets SET tradable = FALSE WHERE symbol = 'SPY'",
     "SELECT updated_at = CURRENT_TIMESTAMP::timestamp FROM assets WHERE symbol = 'SPY'"},
};

static void test_updated_at_triggers(void **state)
{
    struct db_fixture *fx = *state;
    char value[64];
    /* One transaction: CURRENT_TIMESTAMP is the transaction's start, so equality is exact. */
    db_fixture_exec(fx->conn, "BEGIN");
    for (size_t i = 0; i < sizeof trigger_cases / sizeof trigger_cases[0]; i++) {
        const struct trigger_case *c = &trigger_cases[i]; /* users first: others need user 1 */
        db_fixture_exec(fx->conn, c->insert_sql);
        db_fixture_value(fx->conn, c->check_sql, value, sizeof value);
        if (strcmp(value, "f") != 0)
            fail_msg("%s: insert should keep the given updated_at", c->table);
        db_fixture_exec(fx->conn, c->update_sql);
        db_fixture_value(fx->conn, c->check_sql, value, sizeof value);
        if (strcmp(value, "t") != 0)
            fail_msg("%s: UPDATE did not set updated_at (got '%s')", c->table, value);
    }
    db_fixture_exec(fx->conn, "ROLLBACK");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_migrations_are_ordered),
        cmocka_unit_test_setup_teardown(test_seed_schema_is_exact, db_fixture_setup_fresh,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_lever_base_tables, db_fixture_setup_fresh,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_migrate_is_idempotent, db_fixture_setup_fresh,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, db_fixture_setup_fresh,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_on_delete_rules, db_fixture_setup_migrated,
                                        db_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_updated_at_triggers, db_fixture_setup_migrated,
                                        db_fixture_teardown),
    };
    return cmocka_run_group_tests_name("db_schema", tests, NULL, NULL);
}
