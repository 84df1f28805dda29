//! `kith demo`: the whole pipeline on a small synthetic population, on the embedded store.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use store::Store;
use synth::SynthConfig;

use crate::cli::DemoArgs;
use crate::ingest_cmd::{IngestOptions, ingest_files, print_summary};

pub fn run(args: &DemoArgs) -> Result<()> {
    println!(
        "Kith demo: a synthetic population across health, schools, social care, police and housing"
    );
    println!();
    println!(
        "1. generating about {} agency records (seed {}) in {}",
        args.records,
        args.seed,
        args.dir.display()
    );
    let config = SynthConfig {
        seed: args.seed,
        records: args.records,
        ..SynthConfig::default()
    };
    let started = Instant::now();
    let summary = crate::synth_cmd::generate(&config, &args.dir)?;
    crate::synth_cmd::print_summary(&summary, &args.dir, started.elapsed().as_secs_f64());

    println!();
    let mut store = Store::open(&args.db.db)
        .with_context(|| format!("cannot open the store `{}`", args.db.db))?;
    println!("2. ingesting the extracts into {}", store.description());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot list `{}`", args.dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let options = IngestOptions {
        read: ingest::ReadOptions::default(),
        chunk_size: 5000,
        force: false,
        verbose: false,
    };
    let started = Instant::now();
    let (outcomes, failures) = ingest_files(&mut store, &files, &options);
    print_summary(&outcomes, started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        for (file, error) in &failures {
            eprintln!("error: {file}: {error:#}");
        }
        bail!("{} demo files could not be ingested", failures.len());
    }
    let mut examples = outcomes
        .iter()
        .flat_map(|o| o.sample_issues.iter().map(move |i| (o, i)))
        .take(4)
        .peekable();
    if examples.peek().is_some() {
        println!(
            "   examples of what ingest caught (dirty data is normal; bad values never block a record):"
        );
    }
    for (outcome, issue) in examples {
        let name = std::path::Path::new(&outcome.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!("   - {name} line {}: {}", issue.line, issue.message);
    }

    println!();
    println!("3. what the store now holds:");
    crate::status::print_counts(&mut store)?;

    println!();
    println!("4. linking the agencies' records into persons (the live registry)");
    let mut registry = registry::Registry::open(&mut store, registry::RegistryConfig::default())
        .context("cannot open the person registry")?;
    let started = Instant::now();
    let summary = crate::registry_cmd::link_pending(&mut store, &mut registry, "demo", true)?;
    if summary.records > 0 {
        println!(
            "   {} records → {} persons ({} records joined existing persons), {} pairs queued for review{}",
            summary.records,
            summary.persons_created,
            summary.linked_to_existing,
            summary.queued_for_review,
            if summary.model_trained {
                "; model trained and saved"
            } else {
                ""
            }
        );
    } else {
        println!("   every record was already linked; identifiers are unchanged");
    }
    let clusters = args.dir.join("persons.csv");
    crate::registry_cmd::export(&mut store, &clusters)?;
    let truth = args.dir.join("truth");
    let figures = crate::evaluate::figures(
        &clusters,
        &truth.join("records.csv"),
        Some(&truth.join("persons.csv")),
    )?;
    println!(
        "   against the ground truth: pairwise precision {:.4}, recall {:.4}, F1 {:.4} ({:.2}s)",
        figures.precision,
        figures.recall,
        figures.f1,
        started.elapsed().as_secs_f64()
    );
    if let Some((org, local, cci)) = store.registry().all_links()?.into_iter().next() {
        println!("   for example {org}:{local} is person {cci}: try `kith registry person {cci}`");
    }
    println!();
    let serving = prepare_service(args, &mut store)?;
    drop(store);

    println!();
    println!("Next steps:");
    println!("  kith serve                       serve the API again (reads kith-data/kith.toml)");
    println!("  kith status                      what the store holds and each ingest batch");
    println!("  kith quarantine                  rows the latest batch refused or warned about");
    println!("  kith ingest --help               load your own agency extracts");
    println!("  kith review list                 possible matches waiting for a data steward");
    println!("  kith stats                       linkage quality per source, with drift alerts");
    println!(
        "  kith link --help                 link your own extracts into people, with explanations"
    );
    println!(
        "  kith demo                        run again: identical extracts are recognised and nothing changes"
    );
    match serving {
        Some(config) => crate::serve_cmd::serve_with(&config),
        None => Ok(()),
    }
}

/// Roles the demo mints tokens for, and the kind of organisation each works at.
const DEMO_ROLES: [(&str, &str, &str, &str); 4] = [
    ("gp", "dr-demo", "GP_", "a GP at the child's practice"),
    (
        "ed_clinician",
        "ed-demo",
        "HOSP_",
        "an emergency department clinician at the child's hospital",
    ),
    (
        "social_worker",
        "sw-demo",
        "CSC_",
        "a social worker in the child's local authority",
    ),
    (
        "police_officer",
        "pc-demo",
        "POL_",
        "a police officer (no agreement covers police direct care: refused)",
    ),
];

/// Writes agreements naming the synthetic organisations, mints a token per demo role and
/// returns the configuration to serve with (unless `--no-serve`).
fn prepare_service(args: &DemoArgs, store: &mut Store) -> Result<Option<server::ServerConfig>> {
    println!("5. preparing the service: agreements, a development signing key, tokens");
    let data_dir = args
        .dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kith-data"));
    let agreements = data_dir.join("agreements");
    std::fs::create_dir_all(&agreements)
        .with_context(|| format!("cannot create `{}`", agreements.display()))?;
    let organisations = store.organisations()?;
    std::fs::write(
        agreements.join("demo-direct-care-and-safeguarding.toml"),
        demo_agreement(&organisations),
    )
    .context("cannot write the demo agreement")?;
    let config = server::ServerConfig {
        addr: args.addr.clone(),
        db: args.db.db.clone(),
        agreements: agreements.clone(),
        jwks: data_dir.join("dev-jwks.json"),
        ..server::ServerConfig::default()
    };
    let toml_text = format!(
        "# Written by `kith demo`: `kith serve` reads this file when run from this directory.\n\
         addr = {:?}\ndb = {:?}\nagreements = {:?}\njwks = {:?}\n",
        config.addr,
        config.db,
        config.agreements.display().to_string(),
        config.jwks.display().to_string()
    );
    std::fs::write(data_dir.join("kith.toml"), toml_text)
        .context("cannot write the demo's service configuration")?;
    // A child known to a GP, a hospital and children's social care shows the tiers best.
    let mut holders: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (org, _, cci) in store.registry().all_links()? {
        holders.entry(cci).or_default().push(org);
    }
    let child = holders
        .iter()
        .find(|(_, orgs)| {
            ["GP_", "HOSP_", "CSC_"]
                .iter()
                .all(|p| orgs.iter().any(|o| o.starts_with(p)))
        })
        .or_else(|| holders.iter().max_by_key(|(_, orgs)| orgs.len()));
    let Some((cci, orgs)) = child else {
        println!("   no persons to show; skipping tokens");
        return Ok((!args.no_serve).then_some(config));
    };
    println!(
        "   agreements in {}; the example child is {cci}, known to {}",
        agreements.display(),
        orgs.join(", ")
    );
    let url = format!("http://{}", args.addr);
    for (role, user, prefix, who) in DEMO_ROLES {
        let org = orgs
            .iter()
            .find(|o| o.starts_with(prefix))
            .cloned()
            .or_else(|| {
                organisations
                    .iter()
                    .find(|o| o.code.starts_with(prefix))
                    .map(|o| o.code.clone())
            })
            .unwrap_or_else(|| format!("{prefix}DEMO"));
        let token = crate::serve_cmd::mint(&config, user, &org, &[role.to_string()], None, 8)?;
        println!("   token for {who} ({user}, {org}, role {role}):");
        println!("     {token}");
    }
    println!(
        "   try: curl -H \"Authorization: Bearer <token>\" '{url}/api/persons/{cci}?purpose=direct_care&tier=summary'"
    );
    Ok((!args.no_serve).then_some(config))
}

/// One agreement covering direct care and section 47 enquiries among the demo's health,
/// social-care and education organisations.
fn demo_agreement(organisations: &[model::Organisation]) -> String {
    let mut text = String::from(
        "# Written by `kith demo` for its synthetic organisations.\n\
         id = \"ISA-DEMO\"\nversion = 1\n\
         title = \"Demo: direct care and safeguarding among the synthetic agencies\"\n\
         owner = \"Demo Caldicott Guardian\"\n\
         data_categories = [\"health\", \"social_care\", \"education\"]\n\
         start = 2020-01-01\nend = 2099-12-31\nreview = 2099-01-01\n",
    );
    for org in organisations {
        let kind = match org.agency_type {
            model::AgencyType::Health => "health",
            model::AgencyType::SocialCare => "local_authority",
            model::AgencyType::Education => "school",
            _ => continue,
        };
        let name = org.name.replace('"', "'");
        text.push_str(&format!(
            "\n[[parties]]\ncode = \"{}\"\nname = \"{name}\"\nkind = \"{kind}\"\n",
            org.code
        ));
    }
    text.push_str(
        "\n[purposes.direct_care]\nart6 = \"public_task\"\nart9 = \"health_or_social_care\"\n\
         dpa2018 = \"sch1_para2\"\nroles = [\"gp\", \"ed_clinician\", \"social_worker\"]\n\
         max_tier = \"full\"\n\
         fields = [\"exists\", \"lead_practitioner\", \"lead_agency\", \"last_contact\", \"name\", \"date_of_birth\", \"address\", \"postcode\", \"safeguarding_flags\", \"chronology\"]\n\
         \n[purposes.safeguarding_s47]\nart6 = \"public_task\"\nart9 = \"substantial_public_interest\"\n\
         dpa2018 = \"sch1_para18\"\nroles = [\"social_worker\", \"gp\", \"ed_clinician\"]\n\
         max_tier = \"full\"\n\
         fields = [\"exists\", \"lead_practitioner\", \"lead_agency\", \"last_contact\", \"name\", \"date_of_birth\", \"address\", \"postcode\", \"safeguarding_flags\", \"chronology\"]\n",
    );
    text
}
