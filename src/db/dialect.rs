//! What differs between SQLite, PostgreSQL and MySQL/MariaDB: identifier quoting,
//! placeholders, casts, column types and catalog queries. Identifiers reach this module only
//! after the spec checks validated them; quoting here is the second line of defence.

use crate::spec::FieldType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

impl Engine {
    pub fn from_url(url: &str) -> Option<Engine> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Engine::Sqlite),
            "postgres" | "postgresql" => Some(Engine::Postgres),
            "mysql" | "mariadb" => Some(Engine::MySql),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
            Engine::MySql => "MySQL",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub engine: Engine,
}

impl Dialect {
    pub fn new(engine: Engine) -> Self {
        Dialect { engine }
    }

    /// Quotes an identifier, doubling any quote character inside it.
    pub fn quote(&self, ident: &str) -> String {
        match self.engine {
            Engine::MySql => format!("`{}`", ident.replace('`', "``")),
            _ => format!("\"{}\"", ident.replace('"', "\"\"")),
        }
    }

    /// The `n`th (1-based) bind placeholder.
    pub fn placeholder(&self, n: usize) -> String {
        match self.engine {
            Engine::Postgres => format!("${n}"),
            _ => "?".to_string(),
        }
    }

    /// An expression reading column `col` as text.
    pub fn as_text(&self, col: &str) -> String {
        match self.engine {
            Engine::MySql => format!("CAST({} AS CHAR)", self.quote(col)),
            _ => format!("CAST({} AS TEXT)", self.quote(col)),
        }
    }

    /// An expression reading column `col` as a 64-bit integer.
    pub fn as_integer(&self, col: &str) -> String {
        match self.engine {
            Engine::Sqlite => format!("CAST({} AS INTEGER)", self.quote(col)),
            Engine::Postgres => format!("CAST({} AS BIGINT)", self.quote(col)),
            Engine::MySql => format!("CAST({} AS SIGNED)", self.quote(col)),
        }
    }

    /// What a field whose column the table lacks reads as: NULL, cast as [`Self::as_text`]
    /// or [`Self::as_integer`] would read the column (`integer`).
    pub fn null_as(&self, integer: bool) -> &'static str {
        match (self.engine, integer) {
            (Engine::Sqlite, true) => "CAST(NULL AS INTEGER)",
            (Engine::Postgres, true) => "CAST(NULL AS BIGINT)",
            (Engine::MySql, true) => "CAST(NULL AS SIGNED)",
            (Engine::MySql, false) => "CAST(NULL AS CHAR)",
            (_, false) => "CAST(NULL AS TEXT)",
        }
    }

    /// The column type for a field type, in a table the tool creates. `indexed` columns
    /// (the natural key) need a bounded type on MySQL. SQLite keeps decimals, dates,
    /// timestamps and JSON as text: its NUMERIC affinity would turn `12.50` into a float.
    pub fn column_type(&self, kind: FieldType, indexed: bool) -> &'static str {
        use FieldType as F;
        match (self.engine, kind) {
            (Engine::MySql, F::Text | F::Email | F::Phone) if indexed => "VARCHAR(255)",
            (_, F::Text | F::Email | F::Phone) => "TEXT",
            (Engine::Sqlite, F::Integer) => "INTEGER",
            (_, F::Integer) => "BIGINT",
            (_, F::Boolean) => "BOOLEAN",
            (Engine::Sqlite, F::Decimal | F::Date | F::Timestamp | F::Json) => "TEXT",
            (Engine::Postgres, F::Decimal) => "NUMERIC",
            (Engine::MySql, F::Decimal) => "DECIMAL(65,30)",
            (_, F::Date) => "DATE",
            (Engine::Postgres, F::Timestamp) => "TIMESTAMP(6)",
            (Engine::MySql, F::Timestamp) => "DATETIME(6)",
            (Engine::Postgres, F::Json) => "JSONB",
            (Engine::MySql, F::Json) => "JSON",
        }
    }

    /// The `n`th bind placeholder for a value of field type `kind`. Values of the types that
    /// travel as text are cast on PostgreSQL, which converts text to numbers, dates or JSON
    /// only when asked; MySQL and SQLite convert on assignment.
    pub fn value_placeholder(&self, n: usize, kind: FieldType) -> String {
        let p = self.placeholder(n);
        if self.engine != Engine::Postgres {
            return p;
        }
        match kind {
            FieldType::Decimal => format!("CAST({p} AS NUMERIC)"),
            FieldType::Date => format!("CAST({p} AS DATE)"),
            FieldType::Timestamp => format!("CAST({p} AS TIMESTAMP)"),
            FieldType::Json => format!("CAST({p} AS JSONB)"),
            _ => p,
        }
    }

    /// The most bind parameters one statement may carry.
    pub fn max_params(&self) -> usize {
        match self.engine {
            // SQLITE_MAX_VARIABLE_NUMBER is 32766 since 3.32.
            Engine::Sqlite => 32_000,
            // Both count parameters in 16 bits.
            Engine::Postgres | Engine::MySql => 65_000,
        }
    }

    /// The primary key column definition of a table the tool creates. Without `keyed`, the
    /// column is declared without its primary key where one can be added later
    /// ([`Self::key_after_load`]); SQLite's rowid key and MySQL's AUTO_INCREMENT column
    /// always need it.
    pub fn primary_key_column(&self, col: &str, keyed: bool) -> String {
        let q = self.quote(col);
        match self.engine {
            Engine::Sqlite => format!("{q} INTEGER PRIMARY KEY AUTOINCREMENT"),
            Engine::Postgres if keyed => {
                format!("{q} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
            }
            Engine::Postgres => format!("{q} BIGINT GENERATED BY DEFAULT AS IDENTITY"),
            Engine::MySql => format!("{q} BIGINT AUTO_INCREMENT PRIMARY KEY"),
        }
    }

    /// Whether a table created in the same transaction as its first rows is better created
    /// without its primary key, which is added once the rows are in: PostgreSQL builds the
    /// index from sorted rows in one pass instead of inserting each key. The others keep
    /// the rows in primary key order (SQLite's rowid, InnoDB's clustered index), so the key
    /// comes with the table.
    pub fn key_after_load(&self) -> bool {
        self.engine == Engine::Postgres
    }

    /// A query listing a table's columns, with the table name bound: name, declared type,
    /// NOT NULL (0/1), filled by the database when left out (0/1), generated key (0/1), the
    /// width of a CHAR/VARCHAR column in characters and the scale of a NUMERIC/DECIMAL one
    /// (NULL when there is none, and always on SQLite, which enforces neither).
    pub fn columns_query(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => {
                "SELECT name, type, CAST(\"notnull\" AS INTEGER), \
                 CAST(dflt_value IS NOT NULL OR (pk = 1 AND upper(type) = 'INTEGER') AS INTEGER), \
                 CAST(pk = 1 AND upper(type) = 'INTEGER' AS INTEGER), NULL, NULL \
                 FROM pragma_table_info(?) ORDER BY cid"
            }
            Engine::Postgres => {
                "SELECT CAST(column_name AS TEXT), \
                 CAST(CASE WHEN data_type = 'USER-DEFINED' THEN udt_name ELSE data_type END AS TEXT), \
                 CAST(CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS BIGINT), \
                 CAST(CASE WHEN column_default IS NOT NULL OR is_identity = 'YES' \
                   OR is_generated = 'ALWAYS' THEN 1 ELSE 0 END AS BIGINT), \
                 CAST(CASE WHEN is_identity = 'YES' OR column_default LIKE 'nextval(%' \
                   THEN 1 ELSE 0 END AS BIGINT), \
                 CAST(character_maximum_length AS BIGINT), \
                 CAST(CASE WHEN data_type = 'numeric' THEN numeric_scale END AS BIGINT) \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
            }
            Engine::MySql => {
                "SELECT CAST(column_name AS CHAR), CAST(data_type AS CHAR), \
                 CAST(is_nullable = 'NO' AS SIGNED), \
                 CAST(column_default IS NOT NULL OR extra LIKE '%auto_increment%' \
                   OR extra LIKE '%GENERATED%' AS SIGNED), \
                 CAST(extra LIKE '%auto_increment%' AS SIGNED), \
                 CAST(CASE WHEN data_type IN ('char', 'varchar') \
                   THEN character_maximum_length END AS SIGNED), \
                 CAST(CASE WHEN data_type = 'decimal' THEN numeric_scale END AS SIGNED) \
                 FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
            }
        }
    }

    /// A query listing the unique indexes of a table other than its primary key, one row per
    /// (index name, column) in column order; the column is NULL for an expression. Partial
    /// indexes are left out.
    pub fn unique_query(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => {
                "SELECT il.name, ii.name FROM pragma_index_list(?1) AS il, \
                 pragma_index_info(il.name) AS ii \
                 WHERE il.\"unique\" = 1 AND il.origin <> 'pk' AND il.partial = 0 \
                 ORDER BY il.name, ii.seqno"
            }
            Engine::Postgres => {
                "SELECT CAST(ic.relname AS TEXT), CAST(a.attname AS TEXT) \
                 FROM pg_index x \
                 JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_class ic ON ic.oid = x.indexrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(CAST(x.indkey AS int2[])) WITH ORDINALITY AS k(attnum, ord) \
                 LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0 \
                 WHERE n.nspname = current_schema() AND t.relname = $1 \
                   AND x.indisunique AND NOT x.indisprimary AND x.indpred IS NULL \
                 ORDER BY 1, k.ord"
            }
            Engine::MySql => {
                "SELECT CAST(index_name AS CHAR), CAST(column_name AS CHAR) \
                 FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name = ? AND non_unique = 0 \
                   AND index_name <> 'PRIMARY' \
                 ORDER BY index_name, seq_in_index"
            }
        }
    }

    /// A query listing the columns of a table's primary key in order, the table name bound.
    pub fn primary_key_query(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
            Engine::Postgres => {
                "SELECT CAST(a.attname AS TEXT) \
                 FROM pg_index x \
                 JOIN pg_class t ON t.oid = x.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(CAST(x.indkey AS int2[])) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE n.nspname = current_schema() AND t.relname = $1 AND x.indisprimary \
                 ORDER BY k.ord"
            }
            Engine::MySql => {
                "SELECT CAST(column_name AS CHAR) FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name = ? AND index_name = 'PRIMARY' \
                 ORDER BY seq_in_index"
            }
        }
    }

    /// A query listing a table's foreign keys of one column, the table name bound: the
    /// column, the table it refers to, and the column there (NULL on SQLite when the key
    /// names none: the other table's primary key).
    pub fn foreign_keys_query(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite => {
                "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1) \
                 WHERE id IN (SELECT id FROM pragma_foreign_key_list(?1) GROUP BY id \
                   HAVING count(*) = 1) \
                 ORDER BY 1"
            }
            Engine::Postgres => {
                "SELECT CAST(a.attname AS TEXT), CAST(rt.relname AS TEXT), CAST(ra.attname AS TEXT) \
                 FROM pg_constraint c \
                 JOIN pg_class t ON t.oid = c.conrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 JOIN pg_class rt ON rt.oid = c.confrelid \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                 JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] \
                 WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = $1 \
                   AND cardinality(c.conkey) = 1 \
                 ORDER BY 1"
            }
            Engine::MySql => {
                "SELECT CAST(k.column_name AS CHAR), CAST(k.referenced_table_name AS CHAR), \
                   CAST(k.referenced_column_name AS CHAR) \
                 FROM information_schema.key_column_usage k \
                 WHERE k.table_schema = DATABASE() AND k.table_name = ? \
                   AND k.referenced_table_name IS NOT NULL \
                   AND (SELECT COUNT(*) FROM information_schema.key_column_usage k2 \
                     WHERE k2.constraint_schema = k.constraint_schema \
                       AND k2.table_name = k.table_name \
                       AND k2.constraint_name = k.constraint_name) = 1 \
                 ORDER BY 1"
            }
        }
    }

    /// The statement that creates the state table if it is missing.
    pub fn create_state_table(&self) -> String {
        self.state_table_sql(true)
    }

    /// The state table, with its primary key or (for [`Self::key_after_load`]) without it,
    /// to be added by [`Self::state_primary_key`] once the first entries are in.
    pub fn state_table_sql(&self, keyed: bool) -> String {
        let t = self.quote(super::STATE_TABLE);
        let key = if keyed {
            ", PRIMARY KEY (resource, address)"
        } else {
            ""
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {t} (\
             resource VARCHAR(255) NOT NULL, \
             address VARCHAR(255) NOT NULL, \
             row_key VARCHAR(255) NOT NULL, \
             members TEXT NOT NULL, \
             hash VARCHAR(64) NOT NULL, \
             applied_at VARCHAR(40) NOT NULL{key})"
        )
    }

    /// Gathers the planner's statistics of a table just loaded in bulk, where the database
    /// would otherwise plan the next apply's lookups by key blind: on a PostgreSQL table not
    /// yet analyzed, a list of state addresses was looked up by scanning every entry of the
    /// resource (67 ms for 1,000 of 200,000; 9 ms once analyzed). PostgreSQL's autovacuum
    /// would get there in its own time; SQLite and MySQL plan lookups by primary key well
    /// without statistics.
    pub fn analyze(&self, table: &str) -> Option<String> {
        (self.engine == Engine::Postgres).then(|| format!("ANALYZE {}", self.quote(table)))
    }

    /// Adds the state table's primary key, after [`Self::state_table_sql`] without it.
    pub fn state_primary_key(&self) -> String {
        format!(
            "ALTER TABLE {} ADD PRIMARY KEY (resource, address)",
            self.quote(super::STATE_TABLE)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quotes() {
        let pg = Dialect::new(Engine::Postgres);
        assert_eq!(pg.quote("a\"b"), "\"a\"\"b\"");
        let my = Dialect::new(Engine::MySql);
        assert_eq!(my.quote("a`b"), "`a``b`");
        assert_eq!(pg.placeholder(3), "$3");
        assert_eq!(my.placeholder(3), "?");
    }

    #[test]
    fn schemes() {
        assert_eq!(Engine::from_url("sqlite://x.db"), Some(Engine::Sqlite));
        assert_eq!(
            Engine::from_url("postgresql://h/db"),
            Some(Engine::Postgres)
        );
        assert_eq!(Engine::from_url("mysql://h/db"), Some(Engine::MySql));
        assert_eq!(Engine::from_url("oracle://h"), None);
    }
}
