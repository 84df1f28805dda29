//! Decision latency in process, at the scale of a large region: 1,000 agreements, 100,000
//! consents over 20,000 children, their relationships, opt-outs and sensitivity flags.
//! Prints p50/p99/p99.9 of `decide` alone and of `decide` + `ledger_entry`, and the machine.
//!
//! `cargo bench -p governance --bench decide`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use governance::consent::{Consenter, Provision, ProvisionKind};
use governance::state::{ChildFacts, OptOut, Relationship, RelationshipKind};
use governance::{
    Actor, Agreement, Compartment, Consent, DataCategory, GovernanceState, PolicyEngine, Purpose,
    Sensitivity, SharingRequest, StateRecords, Tier, decide,
};
use jiff::civil::Date;

const AGREEMENTS: usize = 1_000;
const REGIONS: usize = 50;
const CHILDREN: usize = 20_000;
const CONSENTS: usize = 100_000;
const WARMUP: usize = 5_000;
const REQUESTS: usize = 100_000;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn org(code: &str, region: usize) -> String {
    format!("{code}-R{region:02}")
}

/// 1,000 agreements: 50 regions, each with 4 versions of the 5 sample agreements.
fn agreements() -> Vec<Agreement> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/agreements");
    let templates: Vec<Agreement> = governance::loader::load_agreements(&dir)
        .unwrap()
        .into_iter()
        .map(|l| l.agreement)
        .collect();
    (0..AGREEMENTS)
        .map(|i| {
            let region = i % REGIONS;
            let mut a = templates[(i / REGIONS) % templates.len()].clone();
            a.id = format!("{}-R{region:02}", a.id);
            a.version = (i / (REGIONS * templates.len())) as u32 + 1;
            for p in &mut a.parties {
                p.code = org(&p.code, region);
            }
            assert!(a.problems().is_empty());
            a
        })
        .collect()
}

const ACTORS: &[(&str, &str, &str, Purpose)] = &[
    ("gp", "B86001", "gp", Purpose::DirectCare),
    ("ed", "RR8", "ed_clinician", Purpose::DirectCare),
    ("sw", "LA383", "social_worker", Purpose::SafeguardingS47),
    ("sw17", "LA383", "social_worker", Purpose::ChildInNeedS17),
    ("eh", "LA383", "early_help_worker", Purpose::EarlyHelp),
    (
        "an",
        "LA383",
        "analyst",
        Purpose::SupportingFamiliesIdentification,
    ),
    ("an", "LA383", "analyst", Purpose::Evaluation),
    ("pc", "WYP", "police_officer", Purpose::SafeguardingS47),
    ("dsl", "107123", "dsl", Purpose::SafeguardingS47),
];
const HOLDERS: &[(&str, DataCategory)] = &[
    ("B86001", DataCategory::Health),
    ("RR8", DataCategory::Health),
    ("LA383", DataCategory::SocialCare),
    ("107123", DataCategory::Education),
];

fn child_id(n: usize) -> String {
    format!("C{n:06}")
}

fn state(rng: &mut Rng) -> StateRecords {
    let today = Date::constant(2026, 6, 15);
    let mut r = StateRecords {
        agreements: agreements(),
        ..StateRecords::default()
    };
    for n in 0..CHILDREN {
        let region = n % REGIONS;
        let age = rng.below(18) as i64;
        r.children.push(ChildFacts {
            cci: child_id(n),
            date_of_birth: today
                .checked_sub(jiff::Span::new().days(age * 365 + rng.below(300) as i64))
                .ok(),
            sensitivity: rng.chance(2).then_some(Sensitivity::RefugeAddress),
            restricted: if rng.chance(3) {
                vec![Compartment::Camhs]
            } else {
                vec![]
            },
        });
        if rng.chance(5) {
            r.opt_outs.push(OptOut {
                child: child_id(n),
                registered: Date::constant(2025, 1, 1),
            });
        }
        for (kind, code) in [
            (RelationshipKind::GpRegistration, "B86001"),
            (RelationshipKind::SchoolEnrolment, "107123"),
            (RelationshipKind::Referral, "LA383"),
            (RelationshipKind::CurrentEpisode, "RR8"),
            (RelationshipKind::Referral, "WYP"),
        ] {
            if rng.chance(60) {
                r.relationships.push(Relationship {
                    id: format!("REL-{n}-{code}"),
                    child: child_id(n),
                    kind,
                    org: org(code, region),
                    user: None,
                    team: None,
                    start: Date::constant(2025, 9, 1),
                    end: rng.chance(20).then_some(Date::constant(2026, 3, 1)),
                });
            }
        }
    }
    for i in 0..CONSENTS {
        let n = rng.below(CHILDREN);
        let (_, code, _, purpose) = ACTORS[rng.below(ACTORS.len())];
        let (_, category) = HOLDERS[rng.below(HOLDERS.len())];
        r.consents.push(Consent {
            id: format!("CONS-{i}"),
            version: 1 + rng.below(3) as u32,
            child: child_id(n),
            given_by: if rng.chance(30) {
                Consenter::Child
            } else {
                Consenter::Parent {
                    name: "parent".into(),
                    parental_responsibility: rng.chance(95),
                }
            },
            date: Date::constant(2026, 1, 1 + rng.below(28) as i8),
            withdrawn: rng.chance(10).then_some(Date::constant(2026, 5, 1)),
            expires: None,
            provisions: vec![Provision {
                kind: if rng.chance(10) {
                    ProvisionKind::Deny
                } else {
                    ProvisionKind::Permit
                },
                purposes: vec![purpose],
                categories: vec![category],
                recipients: vec![org(code, n % REGIONS)],
            }],
        });
    }
    r
}

fn request(rng: &mut Rng) -> SharingRequest {
    let n = rng.below(CHILDREN);
    let region = n % REGIONS;
    let (user, code, role, purpose) = ACTORS[rng.below(ACTORS.len())];
    let (holder, category) = HOLDERS[rng.below(HOLDERS.len())];
    SharingRequest {
        actor: Actor {
            user: format!("{user}-{region}"),
            org: org(code, region),
            role: role.into(),
            team: None,
        },
        purpose: (!rng.chance(2)).then_some(purpose),
        child: child_id(n),
        holder: org(holder, region),
        category,
        tier: Tier::ALL[rng.below(4)],
        safeguarding: None,
        location_override: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let total: Duration = times.iter().sum();
    println!(
        "{label:<26} p50 {:>7.1} µs   p99 {:>7.1} µs   p99.9 {:>7.1} µs   max {:>8.1} µs   mean {:>6.1} µs   {:>7.0} decisions/s",
        percentile(&times, 0.50).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6,
        percentile(&times, 0.999).as_secs_f64() * 1e6,
        times.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
        total.as_secs_f64() * 1e6 / times.len() as f64,
        times.len() as f64 / total.as_secs_f64(),
    );
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("governance decide benchmark — {cpus} CPUs (nproc), single-threaded");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let started = Instant::now();
    let engine = PolicyEngine::new().unwrap();
    println!(
        "policy engine (parse + validate against schema): {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    let started = Instant::now();
    let records = state(&mut rng);
    let counts = (
        records.agreements.len(),
        records.consents.len(),
        records.children.len(),
        records.relationships.len(),
        records.opt_outs.len(),
    );
    let state = GovernanceState::from_records(records);
    println!(
        "state: {} agreements, {} consents, {} children, {} relationships, {} opt-outs, built and indexed in {:.0} ms",
        counts.0,
        counts.1,
        counts.2,
        counts.3,
        counts.4,
        started.elapsed().as_secs_f64() * 1e3
    );

    let now: jiff::Timestamp = "2026-06-15T10:00:00Z".parse().unwrap();
    let requests: Vec<SharingRequest> = (0..WARMUP + REQUESTS).map(|_| request(&mut rng)).collect();
    let mut permits = 0usize;
    let mut decide_only = Vec::with_capacity(REQUESTS);
    let mut with_entry = Vec::with_capacity(REQUESTS);
    for (i, req) in requests.iter().enumerate() {
        let t0 = Instant::now();
        let decision = decide(&engine, &state, req, now);
        let t1 = Instant::now();
        let entry = decision.ledger_entry(i as u64);
        let t2 = Instant::now();
        std::hint::black_box(&entry);
        if i >= WARMUP {
            permits += usize::from(decision.is_permit());
            decide_only.push(t1 - t0);
            with_entry.push(t2 - t0);
        }
    }
    println!(
        "{REQUESTS} requests after {WARMUP} warm-up: {permits} permits, {} denies",
        REQUESTS - permits
    );
    report("decide", decide_only.clone());
    report("decide + ledger entry", with_entry);
    let p99 = {
        let mut t = decide_only;
        t.sort();
        percentile(&t, 0.99)
    };
    let target = Duration::from_micros(100);
    println!(
        "target p99 <= 100 µs: {}",
        if p99 <= target { "met" } else { "NOT met" }
    );
}
