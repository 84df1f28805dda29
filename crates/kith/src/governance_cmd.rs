//! `kith governance`: check information-sharing agreement files, and decide a sharing request
//! with its reasons — the same decision the server makes, from files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use governance::loader::{load_agreements, load_state};
use governance::{GovernanceState, PolicyEngine, SharingRequest, StateRecords, decide};
use jiff::Timestamp;

#[derive(Debug, Args)]
#[command(after_help = "\
Agreements are TOML files, one agreement each (id, version, parties, data categories, start,
end and review dates, and per purpose the lawful basis, roles, highest tier and minimum fields);
see config/agreements/ for samples. The sharing rules themselves are Cedar policies built into
Kith (crates/governance/policies/sharing.cedar), validated against their schema on every start.

Examples:
  kith governance check
  kith governance check --agreements /etc/kith/agreements
  kith governance decide --request request.json
  kith governance decide --request request.json --state kith-data/governance --json
  kith governance decide --request request.json --now 2026-06-15T10:00:00Z")]
pub struct GovernanceArgs {
    #[command(subcommand)]
    pub command: GovernanceCommand,
}

#[derive(Debug, Subcommand)]
pub enum GovernanceCommand {
    /// Validate every agreement file and the built-in rules, and list the agreements.
    Check(CheckArgs),
    /// Decide one sharing request and print the decision and its reasons.
    Decide(DecideArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directory of agreement files (`*.toml`).
    #[arg(long, value_name = "DIR", default_value = "config/agreements")]
    pub agreements: PathBuf,
    /// The day to judge "in force" and "review overdue" by (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub today: Option<jiff::civil::Date>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
The request is JSON:
  {\"actor\": {\"user\": \"sw-jones\", \"org\": \"LA383\", \"role\": \"social_worker\"},
   \"purpose\": \"safeguarding_s47\", \"child\": \"K7Q2M9X4\", \"holder\": \"B86001\",
   \"category\": \"health\", \"tier\": \"summary\"}
optionally with \"safeguarding\": {\"basis\": \"sch1_para18\", \"reason\": \"…\"} and
\"location_override\": {\"reason\": \"…\"}. Purposes: direct_care, safeguarding_s47,
child_in_need_s17, early_help, supporting_families_identification, evaluation, research_planning.
Tiers: existence, involvement, summary, full.

The state directory holds state.json (children, consents, relationships, opt_outs, competence,
break_glass) and, unless --agreements is given, an agreements/ directory.

Examples:
  kith governance decide --request request.json
  kith governance decide --request request.json --state kith-data/governance --json
  kith governance decide --request request.json --record --db sqlite:kith-data/kith.db")]
pub struct DecideArgs {
    /// The request, as JSON.
    #[arg(long, value_name = "FILE")]
    pub request: PathBuf,
    /// A state directory (state.json, agreements/); without it only agreements are known.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Directory of agreement files (default: DIR/agreements with --state, else
    /// config/agreements).
    #[arg(long, value_name = "DIR")]
    pub agreements: Option<PathBuf>,
    /// Decide as at this instant, RFC 3339 (default: now).
    #[arg(long, value_name = "TIMESTAMP")]
    pub now: Option<Timestamp>,
    /// Print the decision and its ledger entry as JSON.
    #[arg(long)]
    pub json: bool,
    /// Append the decision to the audit ledger beside the store (`--db`), as the service does
    /// for every decision; without it the command only shows what would be decided.
    #[arg(long)]
    pub record: bool,
    #[command(flatten)]
    pub db: crate::cli::DbArgs,
}

pub fn run(args: &GovernanceArgs) -> Result<()> {
    let out = match &args.command {
        GovernanceCommand::Check(a) => check(a)?,
        GovernanceCommand::Decide(a) => decide_request(a)?,
    };
    print!("{out}");
    Ok(())
}

fn today_utc() -> jiff::civil::Date {
    Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn check(args: &CheckArgs) -> Result<String> {
    let engine = PolicyEngine::new().context("the built-in sharing rules are invalid")?;
    let loaded = load_agreements(&args.agreements)?;
    let today = args.today.unwrap_or_else(today_utc);
    let mut out = String::new();
    for l in &loaded {
        let a = &l.agreement;
        let status = if !a.is_in_force(today) {
            if today < a.start {
                " [not yet in force]"
            } else {
                " [ended]"
            }
        } else if a.review_overdue(today) {
            " [review overdue]"
        } else {
            ""
        };
        let file = l.path.file_name().map_or_else(
            || l.path.display().to_string(),
            |f| f.to_string_lossy().into(),
        );
        writeln!(out, "{}  {}{status}", a.reference(), a.title)?;
        writeln!(out, "  file:       {file}")?;
        writeln!(out, "  owner:      {}", a.owner)?;
        let parties: Vec<_> = a.parties.iter().map(|p| p.code.as_str()).collect();
        writeln!(out, "  parties:    {}", parties.join(", "))?;
        let categories: Vec<_> = a.data_categories.iter().map(|c| c.as_str()).collect();
        writeln!(out, "  categories: {}", categories.join(", "))?;
        writeln!(
            out,
            "  in force:   {} to {}, review by {}",
            a.start, a.end, a.review
        )?;
        for (purpose, terms) in &a.purposes {
            let mut basis = terms.art6.citation().to_string();
            if let Some(art9) = terms.art9 {
                basis.push_str("; ");
                basis.push_str(art9.citation());
            }
            if let Some(dpa) = terms.dpa2018 {
                basis.push_str("; ");
                basis.push_str(dpa.citation());
            }
            writeln!(
                out,
                "  {purpose}: up to {}, {} fields, roles {} — {basis}{}",
                terms.max_tier,
                terms.fields.len(),
                terms.roles.join(", "),
                terms
                    .opt_out_exemption
                    .as_deref()
                    .map(|e| format!(" (opt-out exemption: {e})"))
                    .unwrap_or_default()
            )?;
        }
    }
    writeln!(
        out,
        "{} agreements valid in {}; {} sharing rules valid against the schema",
        loaded.len(),
        args.agreements.display(),
        engine.rules().count()
    )?;
    Ok(out)
}

fn read_request(path: &Path) -> Result<SharingRequest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read request `{}`", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("invalid request `{}`", path.display()))
}

fn decide_request(args: &DecideArgs) -> Result<String> {
    let engine = PolicyEngine::new().context("the built-in sharing rules are invalid")?;
    let request = read_request(&args.request)?;
    let state = match &args.state {
        Some(dir) => load_state(dir, args.agreements.as_deref())?,
        None => {
            let dir = args
                .agreements
                .clone()
                .unwrap_or_else(|| PathBuf::from("config/agreements"));
            GovernanceState::from_records(StateRecords {
                agreements: load_agreements(&dir)?
                    .into_iter()
                    .map(|l| l.agreement)
                    .collect(),
                ..StateRecords::default()
            })
        }
    };
    let now = args.now.unwrap_or_else(Timestamp::now);
    let decision = decide(&engine, &state, &request, now);
    let recorded = if args.record {
        let audit_url = store::audit::audit_url_for_store(&args.db.db)?;
        let key = store::audit::default_key_path(&audit_url);
        let signer = store::audit::load_or_create_signer(&key)
            .with_context(|| format!("cannot load the ledger signing key `{}`", key.display()))?;
        let mut log = store::audit::AuditLog::open(
            &audit_url,
            store::audit::AuditOptions {
                signer: Some(signer),
                ..store::audit::AuditOptions::default()
            },
        )
        .with_context(|| format!("cannot open the audit ledger `{audit_url}`"))?;
        Some(log.append(vec![decision.ledger_entry(0)])?.start)
    } else {
        None
    };
    let note = recorded
        .map(|seq| format!("recorded in the audit ledger as entry {seq}\n"))
        .unwrap_or_default();
    if args.json {
        let json = serde_json::json!({
            "decision": decision,
            "ledger_entry": decision.ledger_entry(0),
        });
        Ok(format!("{}\n{note}", serde_json::to_string_pretty(&json)?))
    } else {
        Ok(format!("{}{note}", decision.explain()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(path: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path)
    }

    #[test]
    fn check_lists_the_sample_agreements() {
        let out = check(&CheckArgs {
            agreements: data("config/agreements"),
            today: Some(jiff::civil::date(2026, 11, 1)),
        })
        .unwrap();
        assert!(
            out.contains("ISA-LDS-MASH@5  Multi-agency safeguarding hub"),
            "{out}"
        );
        assert!(out.contains("[review overdue]"), "{out}");
        assert!(out.contains("5 agreements valid"), "{out}");
    }

    #[test]
    fn check_names_the_bad_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::read_to_string(data("config/agreements/03-early-help.toml")).unwrap();
        std::fs::write(
            dir.path().join("bad.toml"),
            good.replace("max_tier = \"summary\"", "max_tier = \"everything\""),
        )
        .unwrap();
        let error = check(&CheckArgs {
            agreements: dir.path().to_path_buf(),
            today: None,
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("bad.toml"), "{error}");
        assert!(error.contains("purposes.early_help.max_tier"), "{error}");
    }

    #[test]
    fn decide_explains_a_safeguarding_decision() {
        let out = decide_request(&DecideArgs {
            request: data("crates/governance/tests/data/cli/request-s47.json"),
            state: Some(data("crates/governance/tests/data/cli")),
            agreements: Some(data("config/agreements")),
            now: Some("2026-06-15T10:00:00Z".parse().unwrap()),
            json: false,
            record: false,
            db: crate::cli::DbArgs {
                db: "sqlite::memory:".into(),
            },
        })
        .unwrap();
        assert!(
            out.starts_with("PERMIT summary of B86001's health record"),
            "{out}"
        );
        assert!(out.contains("agreement: ISA-LDS-MASH@5"), "{out}");
        assert!(out.contains("consent: CONS-7@3 withdrawn"), "{out}");
        assert!(out.contains("address (sensitive person)"), "{out}");
    }

    #[test]
    fn decide_as_json_carries_the_ledger_entry() {
        let out = decide_request(&DecideArgs {
            request: data("crates/governance/tests/data/cli/request-s47.json"),
            state: Some(data("crates/governance/tests/data/cli")),
            agreements: Some(data("config/agreements")),
            now: Some("2026-06-15T10:00:00Z".parse().unwrap()),
            json: true,
            record: false,
            db: crate::cli::DbArgs {
                db: "sqlite::memory:".into(),
            },
        })
        .unwrap();
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json["decision"]["outcome"], "permit");
        assert_eq!(json["ledger_entry"]["kind"], "decision");
        assert_eq!(json["ledger_entry"]["subject"], "K7Q2M9X4");
    }

    #[test]
    fn decide_can_record_the_decision_in_the_audit_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("kith.db").display());
        let out = decide_request(&DecideArgs {
            request: data("crates/governance/tests/data/cli/request-s47.json"),
            state: Some(data("crates/governance/tests/data/cli")),
            agreements: Some(data("config/agreements")),
            now: Some("2026-03-14T09:00:00Z".parse().unwrap()),
            json: false,
            record: true,
            db: crate::cli::DbArgs { db: db.clone() },
        })
        .unwrap();
        assert!(
            out.contains("recorded in the audit ledger as entry 0"),
            "{out}"
        );
        let audit_url = store::audit::audit_url_for_store(&db).unwrap();
        let mut log =
            store::audit::AuditLog::open(&audit_url, store::audit::AuditOptions::default())
                .unwrap();
        assert_eq!(log.size().unwrap(), 1);
        assert_eq!(log.entry(0).unwrap().kind, ledger::EventKind::Decision);
    }
}
