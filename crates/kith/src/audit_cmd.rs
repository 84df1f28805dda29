//! `kith audit`: verify the tamper-evident audit ledger, export and check proofs, sign
//! checkpoints, and answer "who accessed my child's record".

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ledger::{Decision, Entry, EventKind, ProofBundle, parse_verifier_key, to_hex};
use serde_json::{Value as Json, json};
use store::audit::{
    AuditLog, AuditOptions, DEFAULT_ORIGIN, Deferral, ProofRequest, Review, audit_url_for_store,
    default_key_path, load_or_create_signer,
};

#[derive(Debug, Args)]
#[command(after_help = "\
The ledger lives apart from the operational store: by default `audit.db` beside an SQLite store
file, or the `<schema>_audit` schema (`kith_audit`) of a PostgreSQL store. Checkpoints are signed
with an Ed25519 key read from --audit-key (created with mode 0600 on first use; by default
`audit.key` beside an SQLite ledger, else kith-data/audit.key). Keep that key away from the
database in a deployment, and give inspectors the public key (`kith audit public-key`).

Examples:
  kith audit verify
  kith audit checkpoint
  kith audit proof --seq 42 --from 10 --out proof.json
  kith audit verify-proof proof.json --public-key \"$(cat audit.pub)\"
  kith audit subject K0000000175
  kith audit --audit-db postgres://kith@db/kith?schema=kith_audit report --kind decision --decision deny")]
pub struct AuditArgs {
    #[command(flatten)]
    pub location: AuditLocation,
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// Where the ledger and its signing key are.
#[derive(Debug, Args, Clone)]
pub struct AuditLocation {
    /// The operational store, from which the ledger's default location is derived.
    #[arg(
        long,
        env = "KITH_DB",
        default_value = "sqlite:kith-data/kith.db",
        global = true
    )]
    pub db: String,
    /// The audit ledger: `sqlite:PATH` or `postgres://…?schema=NAME` (default: derived from
    /// --db).
    #[arg(long, env = "KITH_AUDIT_DB", value_name = "URL", global = true)]
    pub audit_db: Option<String>,
    /// The checkpoint signing key file (64 hex digits; created with mode 0600 if missing).
    #[arg(long, env = "KITH_AUDIT_KEY", value_name = "PATH", global = true)]
    pub audit_key: Option<PathBuf>,
    /// The checkpoint origin, which names the log and its key.
    #[arg(long, env = "KITH_AUDIT_ORIGIN", default_value = DEFAULT_ORIGIN, global = true)]
    pub origin: String,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the tree from every entry and check every signed checkpoint.
    #[command(after_help = "\
Checks each checkpoint's signature, that every stored column matches the hashed entry, each
entry's leaf hash and position, and the recomputed root at every checkpoint's size. An edited,
deleted or reordered entry is reported with its seq (or the smallest range the checkpoints allow).
Exits non-zero when anything fails.

Examples:
  kith audit verify
  kith audit verify --public-key kith.local/audit+1a2b3c4d+AU3q…")]
    Verify(VerifyArgs),
    /// Export an inclusion and/or consistency proof, with its signed checkpoint, as JSON.
    #[command(after_help = "\
The proof is against a stored signed checkpoint: the latest, or the one of --size. Entries after
the latest checkpoint need `kith audit checkpoint` first.

Examples:
  kith audit proof --seq 42 > proof.json
  kith audit proof --seq 42 --size 1000 --from 500 --out proof.json")]
    Proof(ProofArgs),
    /// Check a proof file with the public key alone (no database needed).
    #[command(after_help = "\
Examples:
  kith audit verify-proof proof.json --public-key kith.local/audit+1a2b3c4d+AU3q…
  kith audit verify-proof proof.json --public-key \"$(cat audit.pub)\"")]
    VerifyProof(VerifyProofArgs),
    /// Sign and store a checkpoint for the current size of the ledger.
    #[command(after_help = "\
Examples:
  kith audit checkpoint")]
    Checkpoint,
    /// Print the public key that verifies this ledger's checkpoints.
    #[command(after_help = "\
Examples:
  kith audit public-key > audit.pub")]
    PublicKey,
    /// Who accessed a person's record: requester, organisation, role, purpose, basis, time.
    #[command(after_help = "\
The family view leaves out entries under an unexpired deferral and never says that any exist;
--privileged (for IG leads) also says how many are deferred and until when.

Examples:
  kith audit subject K0000000175
  kith audit subject K0000000175 --json
  kith audit subject K0000000175 --privileged --as-of 2026-09-01")]
    Subject(SubjectArgs),
    /// Hide an entry tied to a s.47 enquiry or police investigation from the subject view
    /// until a date (recorded as a new ledger entry).
    #[command(after_help = "\
Examples:
  kith audit defer --seq 42 --ground police-investigation --until 2026-12-31 \\
      --reason 'Operation Larch: disclosure would alert a suspect' --actor u-ig7 --org LA_383")]
    Defer(DeferArgs),
    /// Record that a break-glass override was reviewed (a new ledger entry).
    #[command(after_help = "\
Examples:
  kith audit review --seq 17 --note 'justified: child presented with injuries' --actor u-po1 --org RX1")]
    Review(ReviewArgs),
    /// List entries of one kind, e.g. denials or break-glass overrides.
    #[command(after_help = "\
Kinds: access, decision, override (break-glass), consent-change, identity-change, admin-change,
login-failure. Times are compared as UTC text, so --since 2026-03-01 means from the start of
that day.

Examples:
  kith audit report --kind decision --decision deny --since 2026-03-01
  kith audit report --kind override --json")]
    Report(ReportArgs),
    /// List break-glass overrides that no review entry has followed yet.
    #[command(after_help = "\
Examples:
  kith audit unreviewed")]
    Unreviewed(JsonArgs),
    /// Test-only: append batches forever, printing each acknowledged seq after its commit.
    #[command(hide = true)]
    AppendTest(AppendTestArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify against this public key (`name+id+key`, or a file holding it) instead of the
    /// key file's.
    #[arg(long, value_name = "KEY")]
    pub public_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProofArgs {
    /// Prove this entry is included.
    #[arg(long, required_unless_present = "from")]
    pub seq: Option<u64>,
    /// Prove against the checkpoint of this size (default: the latest).
    #[arg(long)]
    pub size: Option<u64>,
    /// Also prove that the tree of this many entries is a prefix of the checkpointed tree.
    #[arg(long, value_name = "SIZE")]
    pub from: Option<u64>,
    /// Write the JSON here instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyProofArgs {
    /// The proof JSON written by `kith audit proof`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The ledger's public key (`name+id+key`, or a file holding it).
    #[arg(long, value_name = "KEY")]
    pub public_key: String,
}

#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// The person's consistent child identifier.
    #[arg(value_name = "CCI")]
    pub cci: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// An IG lead's view: also say how many entries are deferred.
    #[arg(long)]
    pub privileged: bool,
    /// Apply deferrals as of this date, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ground {
    /// A s.47 (Children Act 1989) child protection enquiry.
    S47Enquiry,
    /// A police investigation.
    PoliceInvestigation,
}

/// Who records an administrative entry.
#[derive(Debug, Args)]
pub struct Actor {
    /// The user recording this.
    #[arg(long, env = "KITH_ACTOR", value_name = "USER")]
    pub actor: String,
    /// Their organisation.
    #[arg(long, env = "KITH_ORG", value_name = "CODE")]
    pub org: String,
}

#[derive(Debug, Args)]
pub struct DeferArgs {
    /// The entry to hide from the subject view.
    #[arg(long)]
    pub seq: u64,
    /// Why telling the family now would endanger a child or an investigation.
    #[arg(long)]
    pub reason: String,
    /// The entry is shown again from this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub until: String,
    /// The ground for deferring.
    #[arg(long, value_enum)]
    pub ground: Ground,
    #[command(flatten)]
    pub actor: Actor,
    /// The role the actor acts in.
    #[arg(long, default_value = "ig_lead")]
    pub role: String,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The break-glass override entry reviewed.
    #[arg(long)]
    pub seq: u64,
    /// The reviewer's finding.
    #[arg(long)]
    pub note: String,
    #[command(flatten)]
    pub actor: Actor,
    /// The role the reviewer acts in.
    #[arg(long, default_value = "privacy_officer")]
    pub role: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Access,
    Decision,
    Override,
    ConsentChange,
    IdentityChange,
    AdminChange,
    LoginFailure,
}

impl Kind {
    fn event_kind(self) -> EventKind {
        match self {
            Kind::Access => EventKind::Access,
            Kind::Decision => EventKind::Decision,
            Kind::Override => EventKind::Override,
            Kind::ConsentChange => EventKind::ConsentChange,
            Kind::IdentityChange => EventKind::IdentityChange,
            Kind::AdminChange => EventKind::AdminChange,
            Kind::LoginFailure => EventKind::LoginFailure,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DecisionArg {
    Permit,
    Deny,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The kind of entry to list.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Only entries at or after this time (YYYY-MM-DD or RFC 3339, UTC).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only decisions with this outcome.
    #[arg(long, value_enum)]
    pub decision: Option<DecisionArg>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AppendTestArgs {
    /// Entries per transaction.
    #[arg(long, default_value_t = 50)]
    pub batch: usize,
    /// Sign a checkpoint after every this many batches.
    #[arg(long, default_value_t = 10)]
    pub checkpoint_every: u64,
}

pub fn run(args: &AuditArgs) -> Result<()> {
    let location = &args.location;
    match &args.command {
        AuditCommand::Verify(verify) => run_verify(location, verify),
        AuditCommand::Proof(proof) => run_proof(location, proof),
        AuditCommand::VerifyProof(check) => run_verify_proof(check),
        AuditCommand::Checkpoint => {
            let mut log = open(location, true)?;
            let signed = log.checkpoint()?;
            println!(
                "Signed checkpoint of {} entries in {}: root {}",
                signed.checkpoint.size,
                log.description(),
                to_hex(&signed.checkpoint.root)
            );
            print!("{signed}");
            Ok(())
        }
        AuditCommand::PublicKey => {
            let log = open(location, true)?;
            println!("{}", log.public_key_text()?);
            Ok(())
        }
        AuditCommand::Subject(subject) => run_subject(location, subject),
        AuditCommand::Defer(defer) => run_defer(location, defer),
        AuditCommand::Review(review) => {
            let mut log = open(location, false)?;
            let seq = log.review(&Review {
                seq: review.seq,
                note: review.note.clone(),
                actor_user: review.actor.actor.clone(),
                actor_org: review.actor.org.clone(),
                role: review.role.clone(),
                time: now(),
            })?;
            println!("Recorded review of override {} as entry {seq}", review.seq);
            Ok(())
        }
        AuditCommand::Report(report) => run_report(location, report),
        AuditCommand::Unreviewed(json_args) => {
            let mut log = open(location, false)?;
            let entries = log.unreviewed_overrides()?;
            print_entries(&entries, json_args.json, "unreviewed break-glass overrides")
        }
        AuditCommand::AppendTest(test) => run_append_test(location, test),
    }
}

fn open(location: &AuditLocation, signing: bool) -> Result<AuditLog> {
    let url = match &location.audit_db {
        Some(url) => url.clone(),
        None => audit_url_for_store(&location.db)?,
    };
    let signer = if signing {
        let path = location
            .audit_key
            .clone()
            .unwrap_or_else(|| default_key_path(&url));
        Some(load_or_create_signer(&path)?)
    } else {
        None
    };
    let options = AuditOptions {
        origin: location.origin.clone(),
        signer,
    };
    AuditLog::open(&url, options).with_context(|| "cannot open the audit ledger".to_string())
}

/// Now, in UTC with a fixed six fractional digits, so entry times sort as text.
fn now() -> String {
    format!("{:.6}", jiff::Timestamp::now())
}

fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

fn parse_date(text: &str, flag: &str) -> Result<String> {
    let date: jiff::civil::Date = text
        .parse()
        .with_context(|| format!("{flag} `{text}` is not a date (YYYY-MM-DD)"))?;
    Ok(date.to_string())
}

/// A public key given inline (`name+id+key`) or as a file holding one.
fn read_public_key(text: &str) -> Result<ledger::VerifyingKey> {
    let inline = parse_verifier_key(text);
    let key = match inline {
        Ok((_, key)) => key,
        Err(inline_error) => match std::fs::read_to_string(text) {
            Ok(contents) => {
                parse_verifier_key(&contents)
                    .with_context(|| format!("the public key in `{text}`"))?
                    .1
            }
            Err(_) => return Err(inline_error).context("--public-key"),
        },
    };
    Ok(key)
}

fn run_verify(location: &AuditLocation, args: &VerifyArgs) -> Result<()> {
    let key = args
        .public_key
        .as_deref()
        .map(read_public_key)
        .transpose()?;
    let mut log = open(location, key.is_none())?;
    let started = Instant::now();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("  verifying {bar:30} {pos}/{len} entries ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let outcome = log.verify(key.as_ref(), &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let report = outcome
        .with_context(|| format!("audit ledger verification FAILED in {}", log.description()))?;
    let ledger = &report.ledger;
    println!(
        "Verified {} entries in {} in {:.1} s: intact.",
        ledger.entries,
        log.description(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  checkpoints: {} (all signatures valid and consistent with the entries)",
        ledger.checkpoints
    );
    if ledger.checkpoints == 0 {
        println!("  signed:      nothing yet (run `kith audit checkpoint`)");
    } else {
        println!(
            "  signed:      the first {} entries, by the latest checkpoint",
            ledger.signed_size
        );
    }
    if ledger.unsigned_tail > 0 {
        println!(
            "  unsigned:    {} later entries (run `kith audit checkpoint` to sign them)",
            ledger.unsigned_tail
        );
    }
    println!("  root:        {}", to_hex(&ledger.root));
    Ok(())
}

fn run_proof(location: &AuditLocation, args: &ProofArgs) -> Result<()> {
    let mut log = open(location, false)?;
    let bundle = log.proof(ProofRequest {
        seq: args.seq,
        from: args.from,
        size: args.size,
    })?;
    let mut json = serde_json::to_string_pretty(&bundle)?;
    json.push('\n');
    match &args.out {
        Some(path) => {
            std::fs::write(path, json)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            eprintln!("Wrote the proof to {}", path.display());
        }
        None => std::io::stdout().write_all(json.as_bytes())?,
    }
    Ok(())
}

fn run_verify_proof(args: &VerifyProofArgs) -> Result<()> {
    let key = read_public_key(&args.public_key)?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let bundle: ProofBundle = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a proof file", args.file.display()))?;
    let summary = bundle
        .verify(&key)
        .with_context(|| format!("the proof in `{}` does NOT verify", args.file.display()))?;
    let checkpoint = &summary.checkpoint.checkpoint;
    println!(
        "Valid: checkpoint `{}` of {} entries, root {}, signed by the given key.",
        checkpoint.origin,
        checkpoint.size,
        to_hex(&checkpoint.root)
    );
    if let Some(entry) = &summary.entry {
        println!(
            "  entry {} is included: {} {} by {} ({}, {}){}",
            entry.seq,
            entry.time,
            kind_text(entry),
            requester(entry),
            entry.actor_org,
            entry.role,
            entry
                .subject
                .as_deref()
                .map(|s| format!(" about {s}"))
                .unwrap_or_default()
        );
    }
    if let Some((old_size, signed)) = summary.consistent_from {
        println!(
            "  the log of {old_size} entries{} is a prefix of this one: nothing in it was rewritten",
            if signed { " (itself signed)" } else { "" }
        );
    }
    Ok(())
}

fn run_subject(location: &AuditLocation, args: &SubjectArgs) -> Result<()> {
    let as_of = match &args.as_of {
        Some(date) => parse_date(date, "--as-of")?,
        None => today(),
    };
    let mut log = open(location, false)?;
    let view = log.subject_view(&args.cci, &as_of)?;
    if args.json {
        let mut out = json!({
            "subject": args.cci,
            "entries": view.entries.iter().map(subject_row).collect::<Vec<_>>(),
        });
        if args.privileged {
            out["deferred"] = json!(view.deferred);
            out["deferred_until"] = json!(view.deferred_until);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "Who accessed the record of {} ({} {}):",
        args.cci,
        view.entries.len(),
        if view.entries.len() == 1 {
            "entry"
        } else {
            "entries"
        }
    );
    for entry in &view.entries {
        println!(
            "  {}  {:<16} {}  ({}, {}){}{}",
            entry.time,
            kind_text(entry),
            requester(entry),
            entry.actor_org,
            entry.role,
            entry
                .purpose
                .as_deref()
                .map(|p| format!("  purpose: {p}"))
                .unwrap_or_default(),
            basis(entry)
                .map(|b| format!("  basis: {b}"))
                .unwrap_or_default(),
        );
    }
    if args.privileged {
        match (&view.deferred, &view.deferred_until) {
            (0, _) => println!("No entries are deferred."),
            (n, Some(until)) => println!(
                "{n} deferred {} hidden from the family view (until {until} at the latest).",
                if *n == 1 { "entry is" } else { "entries are" }
            ),
            (n, None) => println!("{n} deferred entries are hidden from the family view."),
        }
    }
    Ok(())
}

fn run_defer(location: &AuditLocation, args: &DeferArgs) -> Result<()> {
    let until = parse_date(&args.until, "--until")?;
    let mut log = open(location, false)?;
    let seq = log.defer(&Deferral {
        seq: args.seq,
        until: until.clone(),
        ground: match args.ground {
            Ground::S47Enquiry => "s47_enquiry",
            Ground::PoliceInvestigation => "police_investigation",
        }
        .to_owned(),
        reason: args.reason.clone(),
        actor_user: args.actor.actor.clone(),
        actor_org: args.actor.org.clone(),
        role: args.role.clone(),
        time: now(),
    })?;
    println!(
        "Entry {} is hidden from the subject view until {until}; recorded as entry {seq}",
        args.seq
    );
    Ok(())
}

fn run_report(location: &AuditLocation, args: &ReportArgs) -> Result<()> {
    let since = args
        .since
        .as_deref()
        .map(|s| match s.len() {
            10 => parse_date(s, "--since"),
            _ => Ok(s.to_owned()),
        })
        .transpose()?;
    let mut log = open(location, false)?;
    let wanted = args.decision.map(|d| match d {
        DecisionArg::Permit => Decision::Permit,
        DecisionArg::Deny => Decision::Deny,
    });
    let entries: Vec<Entry> = log
        .report(args.kind.event_kind(), since.as_deref())?
        .into_iter()
        .filter(|e| wanted.is_none() || e.decision == wanted)
        .collect();
    print_entries(&entries, args.json, "entries")
}

fn print_entries(entries: &[Entry], as_json: bool, what: &str) -> Result<()> {
    if as_json {
        println!("{}", serde_json::to_string_pretty(entries)?);
        return Ok(());
    }
    println!("{} {what}", entries.len());
    for entry in entries {
        println!(
            "  #{:<8} {}  {:<16} {}  ({}, {})  subject: {}{}",
            entry.seq,
            entry.time,
            kind_text(entry),
            requester(entry),
            entry.actor_org,
            entry.role,
            entry.subject.as_deref().unwrap_or("-"),
            if entry.reasons.is_empty() {
                String::new()
            } else {
                format!("  reasons: {}", entry.reasons.join("; "))
            }
        );
    }
    Ok(())
}

/// The kind, with the decision for a decision.
fn kind_text(entry: &Entry) -> String {
    match entry.decision {
        Some(decision) => format!("{} {}", entry.kind.as_str(), decision.as_str()),
        None => entry.kind.as_str().to_owned(),
    }
}

/// The end requester, and the intermediary system when the request came through one.
fn requester(entry: &Entry) -> String {
    match entry.details.get("via").and_then(Json::as_str) {
        Some(via) => format!("{} via {via}", entry.actor_user),
        None => entry.actor_user.clone(),
    }
}

/// The lawful basis recorded in the details, else the decision's reasons.
fn basis(entry: &Entry) -> Option<String> {
    if let Some(basis) = entry.details.get("basis").and_then(Json::as_str) {
        return Some(basis.to_owned());
    }
    (!entry.reasons.is_empty()).then(|| entry.reasons.join("; "))
}

fn subject_row(entry: &Entry) -> Json {
    json!({
        "seq": entry.seq,
        "time": entry.time,
        "kind": entry.kind.as_str(),
        "decision": entry.decision.map(Decision::as_str),
        "requester": entry.actor_user,
        "via": entry.details.get("via"),
        "organisation": entry.actor_org,
        "role": entry.role,
        "purpose": entry.purpose,
        "basis": basis(entry),
    })
}

/// Appends forever, printing `acked SEQ` for every entry only after its batch committed, so a
/// test that kills this process can check every acknowledged entry survived.
fn run_append_test(location: &AuditLocation, args: &AppendTestArgs) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let mut log = open(location, true)?;
    let mut stdout = std::io::stdout().lock();
    let mut batches = 0u64;
    loop {
        let batch: Vec<Entry> = (0..args.batch)
            .map(|i| Entry {
                seq: 0,
                time: now(),
                kind: EventKind::Access,
                actor_user: format!("u-test-{i}"),
                actor_org: "TEST".into(),
                role: "test".into(),
                purpose: Some("durability_test".into()),
                subject: Some(format!("CCI-TEST-{}", i % 7)),
                decision: None,
                reasons: vec![],
                details: Json::Null,
            })
            .collect();
        let seqs = log.append(batch)?;
        for seq in seqs {
            writeln!(stdout, "acked {seq}")?;
        }
        stdout.flush()?;
        batches += 1;
        if batches.is_multiple_of(args.checkpoint_every.max(1)) {
            let signed = log.checkpoint()?;
            writeln!(stdout, "checkpoint {}", signed.checkpoint.size)?;
            stdout.flush()?;
        }
    }
}
