//! The one place this crate touches the file system: reading agreement files (TOML) and
//! state snapshots (JSON). Everything else is pure.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::agreement::Agreement;
use crate::state::{GovernanceState, StateRecords};

/// Why agreements or state could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid agreement file `{}`{at}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        /// Where, when known: `` at line 12, field `purposes.early_help.art9` ``.
        at: String,
        message: String,
    },
    #[error("invalid agreement file `{}`: field {problem}", path.display())]
    Invalid {
        path: PathBuf,
        /// `field`: what is wrong, e.g. ``` `purposes.early_help.art9`: health data is ... ```
        problem: crate::agreement::Invalid,
    },
    #[error("agreement `{id}` version {version} appears in both `{}` and `{}`", first.display(), second.display())]
    Duplicate {
        id: String,
        version: u32,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("no agreement files (`*.toml`) in `{}`", dir.display())]
    Empty { dir: PathBuf },
    #[error("invalid state file `{}`: {message}", path.display())]
    State { path: PathBuf, message: String },
}

/// An agreement and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedAgreement {
    pub path: PathBuf,
    pub agreement: Agreement,
}

/// Parse and validate one agreement from text; `path` is used only in messages.
pub fn parse_agreement(path: &Path, text: &str) -> Result<Agreement, LoadError> {
    let agreement: Agreement = toml::from_str(text).map_err(|e| LoadError::Syntax {
        path: path.to_path_buf(),
        at: e
            .span()
            .map(|span| locate(text, span.start))
            .unwrap_or_default(),
        message: one_line(e.message()),
    })?;
    if let Some(problem) = agreement.problems().into_iter().next() {
        return Err(LoadError::Invalid {
            path: path.to_path_buf(),
            problem,
        });
    }
    Ok(agreement)
}

/// Every `*.toml` in `dir`, in file-name order, each parsed and validated. The first bad
/// file stops the load: a partly loaded set of agreements would make decisions nobody signed.
pub fn load_agreements(dir: &Path) -> Result<Vec<LoadedAgreement>, LoadError> {
    let read_err = |source| LoadError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for item in fs::read_dir(dir).map_err(read_err)? {
        let path = item.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(LoadError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    paths.sort();
    let mut loaded: Vec<LoadedAgreement> = Vec::with_capacity(paths.len());
    let mut seen = BTreeSet::new();
    for path in paths {
        let text = fs::read_to_string(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let agreement = parse_agreement(&path, &text)?;
        if !seen.insert((agreement.id.clone(), agreement.version)) {
            let first = loaded
                .iter()
                .find(|l| {
                    l.agreement.id == agreement.id && l.agreement.version == agreement.version
                })
                .map(|l| l.path.clone())
                .unwrap_or_default();
            return Err(LoadError::Duplicate {
                id: agreement.id,
                version: agreement.version,
                first,
                second: path,
            });
        }
        loaded.push(LoadedAgreement { path, agreement });
    }
    Ok(loaded)
}

/// Load a state directory: agreements from `DIR/agreements/` (or `agreements_dir` when
/// given) and consents, relationships, opt-outs, competence assessments, children and
/// break-glass grants from `DIR/state.json` when it exists.
pub fn load_state(dir: &Path, agreements_dir: Option<&Path>) -> Result<GovernanceState, LoadError> {
    let agreements_dir = agreements_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("agreements"));
    let agreements = load_agreements(&agreements_dir)?
        .into_iter()
        .map(|l| l.agreement)
        .collect();
    let state_path = dir.join("state.json");
    let mut records = if state_path.exists() {
        let text = fs::read_to_string(&state_path).map_err(|source| LoadError::Read {
            path: state_path.clone(),
            source,
        })?;
        serde_json::from_str::<StateRecords>(&text).map_err(|e| LoadError::State {
            path: state_path.clone(),
            message: e.to_string(),
        })?
    } else {
        StateRecords::default()
    };
    records.agreements = agreements;
    Ok(GovernanceState::from_records(records))
}

/// `` at line N, field `table.key` `` for a byte offset into a TOML document: the key being
/// assigned at that line (looking back through a multi-line array) under the nearest table
/// header above it, so a message names the field even when the TOML parser's own message
/// names only the value.
fn locate(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line_no = before.matches('\n').count() + 1;
    let lines: Vec<&str> = text.lines().take(line_no).collect();
    let mut key = None;
    let mut table = None;
    for line in lines.iter().rev().map(|l| l.trim()) {
        if line.starts_with('[') {
            table = Some(
                line.trim_matches(|c| c == '[' || c == ']')
                    .trim()
                    .to_string(),
            );
            break;
        }
        if key.is_none()
            && let Some((k, _)) = line.split_once('=')
        {
            let k = k.trim().trim_matches('"');
            if !k.is_empty() && k.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) {
                key = Some(k.to_string());
            }
        }
    }
    match (table, key) {
        (Some(t), Some(k)) => format!(" at line {line_no}, field `{t}.{k}`"),
        (None, Some(k)) => format!(" at line {line_no}, field `{k}`"),
        (_, None) => format!(" at line {line_no}"),
    }
}

fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
