//! `kith audit` end to end: the real binary on a ledger seeded through `store::audit`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use ledger::{Decision, Entry, EventKind};
use serde_json::json;
use store::audit::{AuditLog, AuditOptions};

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.path().join("data/audit.db")
    }

    /// Appends entries directly, as the server will.
    fn seed(&self, entries: Vec<Entry>) {
        let url = format!("sqlite:{}", self.audit_path().display());
        let mut log = AuditLog::open(&url, AuditOptions::default()).unwrap();
        log.append(entries).unwrap();
    }

    fn kith(&self, args: &[&str]) -> Output {
        Command::cargo_bin("kith")
            .unwrap()
            .current_dir(self.dir.path())
            .env("KITH_DB", "sqlite:data/kith.db")
            .env_remove("KITH_AUDIT_DB")
            .env_remove("KITH_AUDIT_KEY")
            .env_remove("KITH_ACTOR")
            .env_remove("KITH_ORG")
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.kith(args);
        assert!(
            output.status.success(),
            "kith {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let output = self.kith(args);
        assert!(!output.status.success(), "kith {args:?} should fail");
        String::from_utf8(output.stderr).unwrap()
    }

    fn raw_sql(&self, sql: &str) {
        let conn = rusqlite::Connection::open(self.audit_path()).unwrap();
        conn.execute_batch(sql).unwrap();
    }
}

fn event(
    subject: &str,
    user: &str,
    kind: EventKind,
    time: &str,
    details: serde_json::Value,
) -> Entry {
    Entry {
        seq: 0,
        time: time.into(),
        kind,
        actor_user: user.into(),
        actor_org: "RX1".into(),
        role: "gp".into(),
        purpose: Some("direct_care".into()),
        subject: Some(subject.into()),
        decision: None,
        reasons: vec!["isa:leeds-health-2026".into()],
        details,
    }
}

fn family_entries() -> Vec<Entry> {
    vec![
        event(
            "K0000000175",
            "u-dr-patel",
            EventKind::Access,
            "2026-04-01T09:00:00Z",
            json!({"via": "gp-connect", "basis": "UK GDPR 6(1)(e), 9(2)(h)"}),
        ),
        Entry {
            actor_org: "POLICE_13".into(),
            role: "investigating_officer".into(),
            purpose: Some("safeguarding".into()),
            ..event(
                "K0000000175",
                "u-dc-jones",
                EventKind::Access,
                "2026-04-02T10:30:00Z",
                json!(null),
            )
        },
        event(
            "K0000000999",
            "u-dr-patel",
            EventKind::Access,
            "2026-04-02T11:00:00Z",
            json!(null),
        ),
    ]
}

#[test]
fn the_family_view_names_the_end_requester_and_never_mentions_deferred_entries() {
    let ws = Workspace::new();
    ws.seed(family_entries());
    assert_eq!(
        ws.ok(&["audit", "subject", "K0000000175", "--as-of", "2026-05-01"]),
        "\
Who accessed the record of K0000000175 (2 entries):
  2026-04-01T09:00:00Z  access           u-dr-patel via gp-connect  (RX1, gp)  purpose: direct_care  basis: UK GDPR 6(1)(e), 9(2)(h)
  2026-04-02T10:30:00Z  access           u-dc-jones  (POLICE_13, investigating_officer)  purpose: safeguarding  basis: isa:leeds-health-2026
"
    );

    let out = ws.ok(&[
        "audit",
        "defer",
        "--seq",
        "1",
        "--ground",
        "police-investigation",
        "--until",
        "2026-09-01",
        "--reason",
        "disclosure would alert a suspect",
        "--actor",
        "u-ig7",
        "--org",
        "LA_383",
    ]);
    assert_eq!(
        out,
        "Entry 1 is hidden from the subject view until 2026-09-01; recorded as entry 3\n"
    );

    let family = ws.ok(&["audit", "subject", "K0000000175", "--as-of", "2026-05-01"]);
    assert!(family.starts_with("Who accessed the record of K0000000175 (1 entry):\n"));
    assert!(!family.contains("u-dc-jones"), "{family}");
    assert!(!family.contains("defer"), "{family}");
    let family_json = ws.ok(&[
        "audit",
        "subject",
        "K0000000175",
        "--as-of",
        "2026-05-01",
        "--json",
    ]);
    let parsed: serde_json::Value = serde_json::from_str(&family_json).unwrap();
    assert_eq!(parsed["entries"].as_array().unwrap().len(), 1);
    assert_eq!(parsed["entries"][0]["requester"], "u-dr-patel");
    assert_eq!(parsed["entries"][0]["via"], "gp-connect");
    assert!(parsed.get("deferred").is_none(), "{family_json}");

    let privileged = ws.ok(&[
        "audit",
        "subject",
        "K0000000175",
        "--as-of",
        "2026-05-01",
        "--privileged",
    ]);
    assert!(
        privileged.ends_with(
            "1 deferred entry is hidden from the family view (until 2026-09-01 at the latest).\n"
        ),
        "{privileged}"
    );

    // From the expiry date the family sees it.
    let later = ws.ok(&["audit", "subject", "K0000000175", "--as-of", "2026-09-01"]);
    assert!(later.contains("u-dc-jones"), "{later}");
}

#[test]
fn verify_passes_then_locates_a_tampered_entry() {
    let ws = Workspace::new();
    ws.seed(family_entries());
    ws.ok(&["audit", "checkpoint"]);
    let out = ws.ok(&["audit", "verify"]);
    assert!(
        out.starts_with("Verified 3 entries in SQLite data/audit.db"),
        "{out}"
    );
    assert!(
        out.contains("the first 3 entries, by the latest checkpoint"),
        "{out}"
    );

    ws.raw_sql(
        "DROP TRIGGER audit_entries_no_update;
         UPDATE audit_entries SET leaf = REPLACE(leaf, 'u-dc-jones', 'u-nobody') WHERE seq = 1;",
    );
    let err = ws.fails(&["audit", "verify"]);
    assert!(
        err.contains(
            "entry 1: its bytes no longer hash to the stored leaf hash: the entry was edited"
        ),
        "{err}"
    );
}

#[test]
fn an_inspector_checks_a_proof_with_the_public_key_alone() {
    let ws = Workspace::new();
    ws.seed(family_entries());
    ws.ok(&["audit", "checkpoint"]);
    ws.seed(family_entries());
    ws.ok(&["audit", "checkpoint"]);
    let key = ws.ok(&["audit", "public-key"]);
    assert!(key.starts_with("kith.local/audit+"), "{key}");
    std::fs::write(ws.dir.path().join("audit.pub"), &key).unwrap();
    let key = key.trim();

    ws.ok(&[
        "audit",
        "proof",
        "--seq",
        "1",
        "--from",
        "3",
        "--out",
        "proof.json",
    ]);
    let out = ws.ok(&["audit", "verify-proof", "proof.json", "--public-key", key]);
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "  entry 1 is included: 2026-04-02T10:30:00Z access by u-dc-jones (POLICE_13, investigating_officer) about K0000000175"
    );
    assert!(out.contains("the log of 3 entries (itself signed) is a prefix of this one"));
    // The key can also be given as a file.
    ws.ok(&[
        "audit",
        "verify-proof",
        "proof.json",
        "--public-key",
        "audit.pub",
    ]);

    let proof = std::fs::read_to_string(ws.dir.path().join("proof.json")).unwrap();
    std::fs::write(
        ws.dir.path().join("forged.json"),
        proof.replace("u-dc-jones", "u-someone"),
    )
    .unwrap();
    let err = ws.fails(&["audit", "verify-proof", "forged.json", "--public-key", key]);
    assert!(err.contains("does NOT verify"), "{err}");

    let err = ws.fails(&["audit", "proof", "--seq", "6"]);
    assert!(err.contains("no signed checkpoint covers entry 6"), "{err}");
}

#[test]
fn reports_list_denials_and_break_glass_awaiting_review() {
    let ws = Workspace::new();
    let mut deny = event(
        "K1",
        "u-sch",
        EventKind::Decision,
        "2026-03-05T08:00:00Z",
        json!(null),
    );
    deny.decision = Some(Decision::Deny);
    let mut permit = deny.clone();
    permit.decision = Some(Decision::Permit);
    let glass = event(
        "K2",
        "u-ed",
        EventKind::Override,
        "2026-03-06T02:10:00Z",
        json!({"reason": "unconscious child, no consent possible"}),
    );
    ws.seed(vec![deny, permit, glass.clone(), glass]);

    let out = ws.ok(&[
        "audit",
        "report",
        "--kind",
        "decision",
        "--decision",
        "deny",
    ]);
    assert_eq!(
        out,
        "1 entries\n  #0        2026-03-05T08:00:00Z  decision deny    u-sch  (RX1, gp)  subject: K1  reasons: isa:leeds-health-2026\n"
    );
    let out = ws.ok(&[
        "audit",
        "report",
        "--kind",
        "decision",
        "--since",
        "2026-03-06",
    ]);
    assert_eq!(out, "0 entries\n");

    ws.ok(&[
        "audit",
        "review",
        "--seq",
        "2",
        "--note",
        "justified",
        "--actor",
        "u-po",
        "--org",
        "RX1",
    ]);
    let out = ws.ok(&["audit", "unreviewed"]);
    assert!(
        out.starts_with("1 unreviewed break-glass overrides\n  #3 "),
        "{out}"
    );
    let err = ws.fails(&[
        "audit", "review", "--seq", "0", "--note", "x", "--actor", "u-po", "--org", "RX1",
    ]);
    assert!(
        err.contains("entry 0 is a decision, not a break-glass override"),
        "{err}"
    );
}

#[test]
fn every_audit_command_has_an_example_in_its_help() {
    let ws = Workspace::new();
    for command in [
        "verify",
        "proof",
        "verify-proof",
        "checkpoint",
        "public-key",
        "subject",
        "defer",
        "review",
        "report",
        "unreviewed",
    ] {
        let help = ws.ok(&["audit", command, "--help"]);
        assert!(
            help.contains(&format!("kith audit {command}")),
            "{command}: {help}"
        );
    }
    assert!(ws.ok(&["audit", "--help"]).contains("Examples:"));
}
