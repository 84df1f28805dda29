//! Audit entries and their canonical encoding.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::{Hash, leaf_hash};

/// What kind of event an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// Personal data was shown or sent to someone.
    Access,
    /// A governance decision (permit or deny) was made.
    Decision,
    /// A safeguarding override was recorded in place of consent.
    Override,
    /// Consent was given, withdrawn or objected to.
    ConsentChange,
    /// Person identity changed: a link, merge, unmerge or new identifier.
    IdentityChange,
    /// An agreement, role, user or configuration changed.
    AdminChange,
    /// A login failed.
    LoginFailure,
}

impl EventKind {
    /// The name used in the canonical encoding (and by serde).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Decision => "decision",
            Self::Override => "override",
            Self::ConsentChange => "consent_change",
            Self::IdentityChange => "identity_change",
            Self::AdminChange => "admin_change",
            Self::LoginFailure => "login_failure",
        }
    }
}

/// The outcome of a governance decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Permit,
    Deny,
}

impl Decision {
    /// The name used in the canonical encoding (and by serde).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permit => "permit",
            Self::Deny => "deny",
        }
    }
}

/// One audit event: who did what, to whose record, why, and what was decided.
///
/// Entries do not chain to each other (no previous-entry hash): the Merkle tree over their
/// [`leaf_hash`](Entry::leaf_hash)es is the integrity mechanism, so any entry can be proved
/// included on its own, and `seq` (its position in the log, from 0) makes deletions and
/// reorderings visible before any hashing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, from 0; equal to the entry's leaf index.
    pub seq: u64,
    /// When it happened, RFC 3339, supplied by the caller (the ledger has no clock).
    pub time: String,
    pub kind: EventKind,
    /// The acting user's identifier.
    pub actor_user: String,
    /// The acting user's organisation.
    pub actor_org: String,
    /// The role the user acted in.
    pub role: String,
    /// The declared purpose of the access, if any.
    pub purpose: Option<String>,
    /// The person (consistent child identifier) the event is about, if any.
    pub subject: Option<String>,
    pub decision: Option<Decision>,
    /// Why: rule, agreement and consent references behind a decision.
    pub reasons: Vec<String>,
    /// Anything else, as JSON; `null` when there is nothing.
    #[serde(default)]
    pub details: Value,
}

impl Entry {
    /// The entry's canonical bytes: the leaf data that is hashed into the tree.
    ///
    /// The encoding is compact JSON (UTF-8, no whitespace) of one object whose members always
    /// appear, in this order: `v` (encoding version, `1`), `seq`, `time`, `kind`,
    /// `actor_user`, `actor_org`, `role`, `purpose`, `subject`, `decision`, `reasons`,
    /// `details`. Absent options are `null`; enums are their snake_case names. Strings escape
    /// only `"` and `\` and control characters (`\b \f \n \r \t`, otherwise `\u00XX`
    /// lowercase hex); everything else is literal UTF-8. Inside `details`, object members are
    /// sorted by the UTF-8 bytes of their keys, at every depth, and numbers are written as
    /// `serde_json` writes them. The encoding is written by hand so it depends on no
    /// serializer settings (such as `serde_json/preserve_order`).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(256);
        out.push_str("{\"v\":1,\"seq\":");
        out.push_str(&self.seq.to_string());
        out.push_str(",\"time\":");
        write_str(&mut out, &self.time);
        out.push_str(",\"kind\":");
        write_str(&mut out, self.kind.as_str());
        out.push_str(",\"actor_user\":");
        write_str(&mut out, &self.actor_user);
        out.push_str(",\"actor_org\":");
        write_str(&mut out, &self.actor_org);
        out.push_str(",\"role\":");
        write_str(&mut out, &self.role);
        out.push_str(",\"purpose\":");
        write_opt(&mut out, self.purpose.as_deref());
        out.push_str(",\"subject\":");
        write_opt(&mut out, self.subject.as_deref());
        out.push_str(",\"decision\":");
        write_opt(&mut out, self.decision.map(Decision::as_str));
        out.push_str(",\"reasons\":[");
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(&mut out, reason);
        }
        out.push_str("],\"details\":");
        write_value(&mut out, &self.details);
        out.push('}');
        out.into_bytes()
    }

    /// `SHA-256(0x00 || canonical_bytes)`: the entry's leaf hash in the tree.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.canonical_bytes())
    }
}

fn write_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.push_str("null"),
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<_> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn sample() -> Entry {
        Entry {
            seq: 7,
            time: "2026-03-14T09:26:53Z".into(),
            kind: EventKind::Access,
            actor_user: "u-1042".into(),
            actor_org: "RX1".into(),
            role: "gp".into(),
            purpose: Some("direct_care".into()),
            subject: Some("CCI-000123".into()),
            decision: Some(Decision::Permit),
            reasons: vec!["isa:leeds-health-2026".into(), "consent:implied".into()],
            details: json!({"route": "/chronology", "fields": ["flags", "contacts"], "a\"b": 1.5}),
        }
    }

    #[test]
    fn canonical_encoding_snapshot() {
        let bytes = sample().canonical_bytes();
        let text = String::from_utf8(bytes).unwrap();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn canonical_encoding_is_valid_json_that_round_trips() {
        let entry = sample();
        let parsed: Value = serde_json::from_slice(&entry.canonical_bytes()).unwrap();
        assert_eq!(parsed["details"], entry.details);
        assert_eq!(parsed["kind"], json!("access"));
        // serde's own representation agrees on the enum names.
        assert_eq!(
            serde_json::to_value(entry.kind).unwrap(),
            json!(entry.kind.as_str())
        );
        assert_eq!(serde_json::to_value(Decision::Deny).unwrap(), json!("deny"));
    }

    #[test]
    fn details_key_order_does_not_change_the_encoding() {
        let mut a = sample();
        let mut b = sample();
        a.details = serde_json::from_str(r#"{"z":1,"a":{"y":2,"b":3}}"#).unwrap();
        b.details = serde_json::from_str(r#"{"a":{"b":3,"y":2},"z":1}"#).unwrap();
        assert_eq!(a.canonical_bytes(), b.canonical_bytes());
        assert_eq!(a.leaf_hash(), b.leaf_hash());
    }

    #[test]
    fn every_field_changes_the_leaf_hash() {
        let base = sample();
        let edits: Vec<fn(&mut Entry)> = vec![
            |e| e.seq += 1,
            |e| e.time.push('x'),
            |e| e.kind = EventKind::Decision,
            |e| e.actor_user.push('x'),
            |e| e.actor_org.push('x'),
            |e| e.role.push('x'),
            |e| e.purpose = None,
            |e| e.subject = Some("CCI-000124".into()),
            |e| e.decision = Some(Decision::Deny),
            |e| e.reasons.pop().map(drop).unwrap_or_default(),
            |e| e.details = Value::Null,
        ];
        for (i, edit) in edits.into_iter().enumerate() {
            let mut e = base.clone();
            edit(&mut e);
            assert_ne!(e.leaf_hash(), base.leaf_hash(), "edit {i}");
        }
    }

    proptest! {
        #[test]
        fn strings_escape_to_json_that_parses_back(s in any::<String>()) {
            let mut out = String::new();
            write_str(&mut out, &s);
            prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }

        // Field boundaries cannot be forged: different reason lists encode differently.
        #[test]
        fn reasons_are_injective(a in proptest::collection::vec(".{0,4}", 0..4),
                                 b in proptest::collection::vec(".{0,4}", 0..4)) {
            let (mut x, mut y) = (sample(), sample());
            x.reasons = a.clone();
            y.reasons = b.clone();
            prop_assert_eq!(a == b, x.canonical_bytes() == y.canonical_bytes());
        }
    }
}
