//! The small connection interface both backends implement, so every query is written once.

use crate::Result;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    Text(Option<&'a str>),
    Int(i64),
    Bool(bool),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Param::Text(Some(value))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Param::Text(value)
    }
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

impl From<bool> for Param<'_> {
    fn from(value: bool) -> Self {
        Param::Bool(value)
    }
}

/// A value read from a result column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn int(&self, index: usize) -> Result<i64> {
        match self.0.get(index) {
            Some(Value::Int(v)) => Ok(*v),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            other => Err(corrupt(index, "an integer", other)),
        }
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>> {
        match self.0.get(index) {
            Some(Value::Text(s)) => Ok(Some(s.clone())),
            Some(Value::Null) => Ok(None),
            other => Err(corrupt(index, "text", other)),
        }
    }

    pub fn text(&self, index: usize) -> Result<String> {
        self.opt_text(index)?
            .ok_or_else(|| corrupt(index, "non-null text", Some(&Value::Null)))
    }
}

fn corrupt(index: usize, wanted: &str, found: Option<&Value>) -> crate::StoreError {
    crate::StoreError::Corrupt {
        column: format!("#{index}"),
        problem: format!("expected {wanted}, found {found:?}"),
    }
}

/// What each backend provides. SQL uses `$1, $2, …` placeholders on both engines.
pub trait Conn {
    fn batch(&mut self, sql: &str) -> Result<()>;
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>>;
    fn begin(&mut self) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;

    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| crate::StoreError::Corrupt {
                column: "(row)".into(),
                problem: format!("query returned no row: {sql}"),
            })
    }
}
