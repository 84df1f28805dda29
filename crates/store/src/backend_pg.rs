//! PostgreSQL for deployments: the same operations over a server connection.

use std::collections::HashMap;
use std::str::FromStr;

use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};

use crate::sql::{Conn, Param, Row, Value};
use crate::{Result, StoreError};

pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Splits Kith's own `schema=NAME` query parameter off a PostgreSQL URL.
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) => schema = Some(name.to_string()),
            None => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (rebuilt, schema)
}

impl PgConn {
    pub(crate) fn open(url: &str) -> Result<(PgConn, String)> {
        let (url, schema) = split_schema(url);
        let config = Config::from_str(&url)?;
        let mut client = config.connect(NoTls)?;
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                postgres::config::Host::Tcp(name) => name.clone(),
                postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .unwrap_or_default();
        let mut description = format!(
            "PostgreSQL {}/{}",
            host,
            config.get_dbname().unwrap_or("(default)")
        );
        if let Some(schema) = &schema {
            if schema.is_empty()
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::SchemaName(schema.clone()));
            }
            client.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}"
            ))?;
            description.push_str(&format!(" (schema {schema})"));
        }
        Ok((
            PgConn {
                client,
                statements: HashMap::new(),
            },
            description,
        ))
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

fn bind<'p>(params: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(t) => t as &(dyn ToSql + Sync),
            Param::Int(v) => v as &(dyn ToSql + Sync),
            Param::Bool(b) => b as &(dyn ToSql + Sync),
        })
        .collect()
}

fn read(row: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::VOID {
            None
        } else if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(index)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(index)?
                .map(|v| Value::Int(i64::from(v)))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(index)?
                .map(|v| Value::Int(i64::from(v)))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(index)?.map(Value::Bool)
        } else {
            row.try_get::<_, Option<String>>(index)?.map(Value::Text)
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl Conn for PgConn {
    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.batch_execute(sql)?)
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let statement = self.statement(sql)?;
        Ok(self.client.execute(&statement, &bind(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        self.client
            .query(&statement, &bind(params))?
            .iter()
            .map(read)
            .collect()
    }

    fn begin(&mut self) -> Result<()> {
        Ok(self.client.batch_execute("BEGIN")?)
    }

    fn commit(&mut self) -> Result<()> {
        Ok(self.client.batch_execute("COMMIT")?)
    }

    fn rollback(&mut self) -> Result<()> {
        Ok(self.client.batch_execute("ROLLBACK")?)
    }
}

#[cfg(test)]
mod tests {
    use super::split_schema;

    #[test]
    fn schema_parameter_is_kiths_own() {
        assert_eq!(
            split_schema("postgres://u@h/db?schema=kith_a&sslmode=disable"),
            (
                "postgres://u@h/db?sslmode=disable".to_string(),
                Some("kith_a".to_string())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db"),
            ("postgres://u@h/db".to_string(), None)
        );
    }
}
