//! Command-line arguments: what each subcommand accepts, with examples in `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Kith links children's records across health, social care, schools, police and housing into
/// one consistent child identifier, and shares them only as agreements, law and consent allow.
#[derive(Debug, Parser)]
#[command(name = "kith", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load agency extracts (CSV or NDJSON) into the store, quarantining bad rows.
    Ingest(IngestArgs),
    /// Generate a synthetic multi-agency population with ground truth.
    Synth(SynthArgs),
    /// Generate a small synthetic population, ingest it and show what Kith holds.
    Demo(DemoArgs),
    /// Show what the store holds: organisations, records, entries and ingest batches.
    Status(StatusArgs),
    /// List the rows an ingest batch quarantined or warned about.
    Quarantine(QuarantineArgs),
    /// Link records from CSV files into clusters of the same person (batch, no store).
    Link(LinkArgs),
    /// Score a clusters.csv against ground truth: pairwise precision, recall, F1, hard cases.
    Evaluate(EvaluateArgs),
    /// The live person registry: link waiting records, look up, merge, split, adopt, outbox.
    Registry(RegistryArgs),
    /// The review queue of possible matches: list, show (with the evidence), accept, reject.
    Review(ReviewArgs),
    /// Cross-reference an identifier (`system|value`) to a person and all their identifiers.
    Xref(XrefArgs),
    /// Linkage quality: verified NHS number coverage, match rates, review queue, drift alerts.
    Stats(StatsArgs),
    /// Serve the JSON API (and FHIR interface) over HTTP.
    Serve(ServeArgs),
    /// Mint a signed development token for a user, organisation and roles.
    Token(TokenArgs),
    /// The tamper-evident audit ledger: verify, proofs, checkpoints, who accessed a record.
    Audit(crate::audit_cmd::AuditArgs),
    /// Information-sharing agreements and sharing decisions: check agreement files, decide.
    Governance(crate::governance_cmd::GovernanceArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Input columns (CSV with a header): record_id (required), source (default: the file's stem),
given_name, middle_names, family_name, date_of_birth, sex, address, town, postcode, nhs_number,
upn; optional nhs_number_status (only 01 counts as verified; without the column every valid NHS
number does). Other columns are ignored and listed once on stderr. When a file has no column of a
canonical name and --map names none, common synonyms are recognised and reported (unique_id, id →
record_id; first_name, forename → given_name; surname, last_name → family_name; dob → date_of_birth;
gender → sex; city → town; post_code → postcode).

Outputs: clusters.csv `source,record_id,cluster_id`, one row per input record, in input order;
pairs.csv `source_l,record_id_l,source_r,record_id_r,match_weight,match_probability` for every
pair at or above the threshold. The same inputs and seed give byte-identical files.

Examples:
  kith link --input gp.csv --input school.csv --out clusters.csv
  kith link --input people.csv --mode dedupe --threshold 0.99 --pairs pairs.csv --save-model model.json --out clusters.csv
  kith link --input new.csv --model model.json --map given_name=Forename,family_name=Surname --out clusters.csv
  kith link --input a.csv --input b.csv --out c.csv --explain GP_B86001:P1=SCH_107123:S9")]
pub struct LinkArgs {
    /// Input CSV file (repeatable).
    #[arg(long = "input", required = true, value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    /// Where to write clusters.csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// dedupe: within sources; link: only across sources; link-and-dedupe: both.
    #[arg(long, default_value = "link-and-dedupe", value_parser = ["dedupe", "link", "link-and-dedupe"])]
    pub mode: String,
    /// The file's own column names for canonical ones, NAME=COLUMN pairs; repeatable.
    #[arg(long, value_name = "NAME=COLUMN,…")]
    pub map: Vec<String>,
    /// Match probability at or above which a pair is linked.
    #[arg(long, default_value_t = 0.95)]
    pub threshold: f64,
    /// Also write the linked pairs with their weights and probabilities.
    #[arg(long, value_name = "FILE")]
    pub pairs: Option<PathBuf>,
    /// Save the trained model (readable JSON, every m and u per level).
    #[arg(long, value_name = "FILE")]
    pub save_model: Option<PathBuf>,
    /// Reuse a saved model instead of training.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Seed for sampling during training.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip (and report) blocks with more records than this.
    #[arg(long, default_value_t = 500)]
    pub max_block: usize,
    /// Print the score waterfall of a pair, `SOURCE:ID=SOURCE:ID` (repeatable).
    #[arg(long, value_name = "SOURCE:ID=SOURCE:ID")]
    pub explain: Vec<String>,
    /// Print explanations as JSON instead of text.
    #[arg(long)]
    pub explain_json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Ground truth is `source,record_id,person_id[,hard_cases]` (as `kith synth` writes to
truth/records.csv); with --persons (`person_id,household_id,…,date_of_birth,…`) false merges are
split into twins, other household members and unrelated people.

Examples:
  kith evaluate --clusters clusters.csv --truth data/synth/truth/records.csv
  kith evaluate --clusters clusters.csv --truth truth/records.csv --persons truth/persons.csv --json")]
pub struct EvaluateArgs {
    /// The clusters.csv to score.
    #[arg(long, value_name = "FILE")]
    pub clusters: PathBuf,
    /// Ground truth: source,record_id,person_id[,hard_cases].
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,
    /// True persons with household and date of birth, to classify false merges.
    #[arg(long, value_name = "FILE")]
    pub persons: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where the store lives.
#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// Store URL: `sqlite:PATH` (embedded, the default) or `postgres://user@host:port/db`
    /// (optionally `?schema=NAME`).
    #[arg(
        long,
        env = "KITH_DB",
        default_value = "sqlite:kith-data/kith.db",
        global = true
    )]
    pub db: String,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Canonical columns (person records):
  source, record_id (required), given_name, middle_names, family_name, previous_names (`;`-separated),
  date_of_birth, sex, address, town, postcode, uprn, nhs_number, nhs_number_status, upn,
  former_upns (`;`-separated), pnc_id
Entries files have entry_id, record_id, entry_type, occurred_on, ended_on, category, sensitivity,
summary; relationship files have record_id, related_record_id, relationship, start_date, end_date;
organisation files have code, name, agency_type. The kind is told from the header.

Dates: DD/MM/YYYY, D/M/YY, DD-MM-YYYY, DD.MM.YYYY, YYYY-MM-DD, 14-Mar-2012, 14 March 2012,
YYYYMMDD; partial MM/YYYY, YYYY; estimated with a leading `~`.

Examples:
  kith ingest GP_B86001.csv SCH_107123.csv
  kith ingest --org GP_B86001 --map record_id=PatientID,given_name=Forename,family_name=Surname extract.csv
  kith ingest --db postgres://kith@127.0.0.1/kith referrals.ndjson")]
pub struct IngestArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The organisation (ODS-style code) every row comes from. Without it, a `source` column or
    /// the file name before its first dot (`GP_B86001.entries.csv` → `GP_B86001`) decides.
    #[arg(long, value_name = "CODE")]
    pub org: Option<String>,
    /// The file's own column names for canonical ones, as CANONICAL=COLUMN pairs; repeatable.
    #[arg(long, value_name = "CANONICAL=COLUMN,…")]
    pub map: Vec<String>,
    /// Rows per transaction; a killed run loses at most the chunk in flight and resumes after
    /// the last committed one.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_size: u64,
    /// Re-apply a file even if identical content was already ingested completely.
    #[arg(long)]
    pub force: bool,
    /// Also write every quarantined row and warning to this CSV file.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Store only; do not link the new records to persons (run `kith registry load` later).
    #[arg(long)]
    pub no_link: bool,
    /// Extracts to load: `.csv`, or `.ndjson`/`.jsonl`/`.json` with one object per line.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Writes one person extract per organisation (`<ORG>.csv`), plus `<ORG>.entries.csv`,
`<ORG>.relationships.csv` and `organisations.csv`, all in the ingest format, and the ground truth
under `truth/` (records.csv: record → true person and hard-case tags; persons.csv;
relationships.csv). The same seed always gives byte-identical files.

Examples:
  kith synth --records 100000 --out data/synth
  kith synth --records 1000000 --seed 7 --rate typo=0.08 --rate twins=0.02 --out /tmp/big")]
pub struct SynthArgs {
    /// Approximate number of agency person records to write.
    #[arg(long, default_value_t = 10_000)]
    pub records: u64,
    /// Seed for the generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long, default_value = "kith-data/synth")]
    pub out: PathBuf,
    /// Override a hard-case rate, NAME=VALUE (repeatable); `kith synth --list-rates` shows them.
    #[arg(long, value_name = "NAME=VALUE")]
    pub rate: Vec<String>,
    /// Print the hard-case rates with their defaults and exit.
    #[arg(long)]
    pub list_rates: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  kith demo
  kith demo --records 20000 --db sqlite:/tmp/kith-demo.db")]
pub struct DemoArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Approximate number of agency person records in the synthetic population.
    #[arg(long, default_value_t = 5000)]
    pub records: u64,
    /// Seed for the generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where the synthetic extracts are written.
    #[arg(long, default_value = "kith-data/demo")]
    pub dir: PathBuf,
    /// Prepare the store, agreements and tokens, then exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Address to serve on at the end.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  kith status
  kith status --db postgres://kith@127.0.0.1/kith")]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  kith quarantine            # the latest batch
  kith quarantine --batch 3 --rejected-only")]
pub struct QuarantineArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The batch to show (default: the latest).
    #[arg(long)]
    pub batch: Option<i64>,
    /// Show only rejected rows, not warnings.
    #[arg(long)]
    pub rejected_only: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  kith registry load
  kith registry match --given Amelia --family Khan --dob 2014-03-09 --postcode 'LS6 2AB'
  kith registry person K0000000423
  kith registry merge K0000000175 K000000423X --reason 'same child: birth certificate seen'
  kith registry split K0000000175 --record SCH_107123:S9 --reason 'different child, same name'
  kith registry link GP_B86001:P1 SCH_107123:S9 --reason 'confirmed with the school'
  kith registry unlink GP_B86001:P1 SCH_107123:S9 --reason 'twins; checked with the GP'
  kith registry adopt K0000000175 --reason 'adoption order 2026/123'
  kith registry outbox --org GP_B86001 --ack
  kith registry export --out persons.csv && kith evaluate --clusters persons.csv --truth data/synth/truth/records.csv")]
pub struct RegistryArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Who is acting (recorded in every change); defaults to $USER.
    #[arg(long, global = true)]
    pub actor: Option<String>,
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Link every record not yet linked to a person (an initial load when the registry is empty).
    Load,
    /// Train a new model version on every stored record; existing identifiers do not change.
    Train,
    /// Grade the persons a set of demographics may be (read-only; the real-time search).
    Match(MatchArgs),
    /// A person: current CCI (following merges), identifiers and history.
    Person(PersonArgs),
    /// Merge two persons; the older CCI survives and the other points to it.
    Merge(MergeArgs),
    /// Move records out of a person into a new one (an unmerge).
    Split(SplitArgs),
    /// Record that two agency records are the same child (must-link) and join their persons.
    Link(PairArgs),
    /// Record that two agency records are different children (cannot-link), splitting if needed.
    Unlink(PairArgs),
    /// Adoption: a new identity; the link to the old one is sealed.
    Adopt(ReasonedPerson),
    /// Open a sealed adoption link (the access is recorded).
    Sealed(ReasonedPerson),
    /// Record a disputed age as a range of possible birth dates.
    AgeRange(AgeRangeArgs),
    /// Identity-change messages for an organisation (merges, splits).
    Outbox(OutboxArgs),
    /// Write every record's person as clusters.csv (`source,record_id,cluster_id`), the format
    /// `kith evaluate` and `kith link` use.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    #[arg(long)]
    pub given: Option<String>,
    #[arg(long)]
    pub family: Option<String>,
    /// Date of birth in any common UK form.
    #[arg(long)]
    pub dob: Option<String>,
    #[arg(long)]
    pub sex: Option<String>,
    #[arg(long)]
    pub postcode: Option<String>,
    /// A verified NHS number.
    #[arg(long)]
    pub nhs: Option<String>,
    /// Also list certainly-not candidates.
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PersonArgs {
    pub cci: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    pub a: String,
    pub b: String,
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct SplitArgs {
    pub cci: String,
    /// A record to move, as ORG:LOCAL_ID (repeatable).
    #[arg(long = "record", required = true)]
    pub records: Vec<String>,
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct PairArgs {
    /// ORG:LOCAL_ID
    pub a: String,
    /// ORG:LOCAL_ID
    pub b: String,
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ReasonedPerson {
    pub cci: String,
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct AgeRangeArgs {
    pub cci: String,
    /// Earliest possible birth date.
    #[arg(long)]
    pub from: String,
    /// Latest possible birth date.
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Where to write the CSV.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// The subscribing organisation's code.
    #[arg(long)]
    pub org: String,
    /// Only messages after this id.
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Mark the listed messages delivered.
    #[arg(long)]
    pub ack: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  kith review list
  kith review list --blind --json
  kith review show 17
  kith review accept 17 --reason 'same NHS number on the birth notification'
  kith review reject 18 --reason 'twins: different given names confirmed by the school'")]
pub struct ReviewArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Who is reviewing (recorded with the decision); defaults to $USER.
    #[arg(long, global = true)]
    pub actor: Option<String>,
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List review items.
    List(ReviewListArgs),
    /// One item with the per-field evidence behind its score.
    Show(ReviewShowArgs),
    /// The pair is one child: link them (must-link) and merge their persons.
    Accept(ReviewDecision),
    /// The pair are different children: keep them apart for good (cannot-link).
    Reject(ReviewDecision),
}

#[derive(Debug, Args)]
pub struct ReviewListArgs {
    /// open, accepted or rejected.
    #[arg(long, default_value = "open")]
    pub status: String,
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Hide scores, so the reviewer judges the evidence alone.
    #[arg(long)]
    pub blind: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReviewShowArgs {
    pub id: i64,
    /// Hide scores, so the reviewer judges the evidence alone.
    #[arg(long)]
    pub blind: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReviewDecision {
    pub id: i64,
    /// Why (stored with the decision).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Systems: https://fhir.nhs.uk/Id/nhs-number (or nhs), upn, pnc, cci, local:ORG (an agency's own id).
An unknown identifier is an error; a known one with nothing in the target systems lists nothing.

Examples:
  kith xref 'https://fhir.nhs.uk/Id/nhs-number|9434765919'
  kith xref 'local:GP_B86001|P1042' --target upn --json")]
pub struct XrefArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// SYSTEM|VALUE
    pub identifier: String,
    /// Only identifiers in this system (repeatable).
    #[arg(long = "target")]
    pub targets: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Each run is saved and compared with the previous one: a share moving by more than 5 points is
reported as drift.

Examples:
  kith stats
  kith stats --json --go-live 0.9")]
pub struct StatsArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Share of records with a verified NHS number a source needs to go live.
    #[arg(long, default_value_t = 0.95)]
    pub go_live: f64,
    /// Do not save this run for the next drift comparison.
    #[arg(long)]
    pub no_save: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Configuration: a TOML file (--config; default kith-data/kith.toml when it exists, as `kith demo`
writes it) with addr, db, audit_db, audit_key, agreements,
governance_state, issuer, audience, jwks, pool_size; KITH_ADDR, KITH_DB, KITH_AUDIT_DB,
KITH_AGREEMENTS, KITH_ISSUER, KITH_AUDIENCE, KITH_JWKS, KITH_POOL_SIZE override it. Without a JWKS
file a development key is created (see `kith token`). Ctrl-C or SIGTERM stops accepting, lets
requests in flight finish and commits their audit entries.

Examples:
  kith serve
  kith serve --addr 0.0.0.0:8080 --db postgres://kith@127.0.0.1/kith
  kith serve --config /etc/kith/kith.toml")]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub addr: Option<String>,
    /// Store URL (default from the configuration, else sqlite:kith-data/kith.db).
    #[arg(long)]
    pub db: Option<String>,
    /// Configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "\
The token is signed with the development key beside the JWKS file that `kith serve` trusts
(created on first use). For demos and tests only: deployments trust their identity provider.

Examples:
  kith token --user dr-patel --org GP_B86001 --role gp
  curl -H \"Authorization: Bearer $(kith token --user sw-1 --org CSC_E08000035 --role social_worker)\" \\
       'http://127.0.0.1:8080/api/persons/K000000001X?purpose=safeguarding_s47&tier=summary'")]
pub struct TokenArgs {
    /// The user (token subject).
    #[arg(long)]
    pub user: String,
    /// The user's organisation code.
    #[arg(long)]
    pub org: String,
    /// A role the user holds (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// The user's team, if their organisation allocates cases to teams.
    #[arg(long)]
    pub team: Option<String>,
    /// Hours until the token expires.
    #[arg(long, default_value_t = 8)]
    pub hours: i64,
    /// Configuration file (TOML), for the issuer, audience and JWKS location.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
