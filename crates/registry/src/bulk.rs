//! The initial load: a large backlog linked in one pass of the batch engine, under the same
//! grades as real-time matching, then written as persons in chunked transactions.

use std::collections::BTreeMap;

use linkage::{Comparer, LinkConfig, Mode};
use serde::Serialize;
use store::{RegistryRecord, Store};

use crate::matcher::{block_keys, demographic_grade, to_input, verified_nhs_agreement};
use crate::{
    Cci, Change, Grade, LinkAction, LinkOutcome, LoadedModel, Registry, RegistryError, Result,
    milli,
};

/// What a load or a run of real-time links did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadSummary {
    pub records: u64,
    pub persons_created: u64,
    pub linked_to_existing: u64,
    pub merges: u64,
    pub queued_for_review: u64,
    pub already_linked: u64,
    /// Whether the batch engine linked the backlog in one pass.
    pub bulk: bool,
    /// The model version that scored the records.
    pub model_version: Option<i64>,
    /// Whether this run trained (and saved) that model.
    pub model_trained: bool,
}

impl LoadSummary {
    pub(crate) fn count(&mut self, outcome: &LinkOutcome) {
        self.records += 1;
        self.queued_for_review += outcome.queued_for_review as u64;
        match &outcome.action {
            LinkAction::Created => self.persons_created += 1,
            LinkAction::Linked => self.linked_to_existing += 1,
            LinkAction::Merged { retired } => {
                self.linked_to_existing += 1;
                self.merges += retired.len() as u64;
            }
            LinkAction::AlreadyLinked => self.already_linked += 1,
        }
    }
}

impl Registry {
    /// Links every waiting record in one batch pass: trains a model when none is saved,
    /// clusters the certain pairs under the engine's constraints, issues one CCI per cluster and
    /// queues probable and possible pairs across clusters for review.
    pub fn initial_load(
        &mut self,
        store: &mut Store,
        change: Change<'_>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<LoadSummary> {
        let mut records: Vec<RegistryRecord> = Vec::new();
        let mut after = 0;
        loop {
            let page = store.registry().pending_records(after, 50_000)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            records.extend(page);
        }
        let mut summary = LoadSummary {
            bulk: true,
            ..LoadSummary::default()
        };
        if records.is_empty() {
            summary.model_version = self.model().map(|m| m.version);
            return Ok(summary);
        }
        let total = records.len() as u64;
        let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
        let inputs = records.iter().map(to_input).collect();
        drop(records);
        let output = linkage::link(
            inputs,
            &self.link_config(self.model().map(|m| m.model.clone())),
            &mut |_| {},
        );
        let data = &output.data;
        let comparer = Comparer {
            data,
            nicknames: &self.config.nicknames,
            thresholds: output.model.thresholds,
        };

        // Grade every scored pair as real-time matching would; only certain pairs cluster.
        let graded: Vec<(u32, u32, f64, Grade)> = output
            .pairs
            .iter()
            .map(|p| {
                let gamma = comparer.gamma(p.a as usize, p.b as usize);
                let verified = verified_nhs_agreement(data, &gamma, p.a as usize, p.b as usize);
                (
                    p.a,
                    p.b,
                    p.weight,
                    demographic_grade(&self.config, verified, p.probability),
                )
            })
            .collect();
        let certain: Vec<(u32, u32, f64)> = graded
            .iter()
            .filter(|g| g.3 == Grade::Certain)
            .map(|g| (g.0, g.1, g.2))
            .collect();
        let clustering = linkage::cluster::cluster(&comparer, data.records.len(), &certain);

        // The model, with the population's name counts, becomes a saved version.
        let (model_version, model_trained) = match self.model() {
            Some(m) => (m.version, false),
            None => {
                let note = "trained by the initial load";
                let version = self.save_model(store, &output, change, note)?;
                (version, true)
            }
        };
        summary.model_version = Some(model_version);
        summary.model_trained = model_trained;

        // Clusters in order of their first record: CCIs follow arrival order.
        let mut members: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (index, &root) in clustering.cluster.iter().enumerate() {
            members.entry(root).or_default().push(index as u32);
        }
        let first_serial = store
            .registry_tx(|tx| Ok::<_, RegistryError>(tx.next_serials(members.len() as i64)?))?;
        let mut cci_of_root: BTreeMap<u32, String> = BTreeMap::new();
        for (offset, &root) in members.keys().enumerate() {
            let serial = first_serial + offset as i64;
            let serial =
                u32::try_from(serial).map_err(|_| RegistryError::SerialOutOfRange(serial))?;
            cci_of_root.insert(root, Cci::from_serial(serial)?.to_string());
        }

        // Probable and possible pairs across clusters: the best pair per pair of clusters.
        let mut reviews: BTreeMap<(u32, u32), (u32, u32, f64, Grade)> = BTreeMap::new();
        for &(a, b, weight, grade) in &graded {
            if !matches!(grade, Grade::Probable | Grade::Possible) {
                continue;
            }
            let (ra, rb) = (
                clustering.cluster[a as usize],
                clustering.cluster[b as usize],
            );
            if ra == rb {
                continue;
            }
            let key = (ra.min(rb), ra.max(rb));
            if reviews.get(&key).is_none_or(|best| weight > best.2) {
                reviews.insert(key, (a, b, weight, grade));
            }
        }

        let clusters: Vec<(&u32, &Vec<u32>)> = members.iter().collect();
        let mut done = 0u64;
        for chunk in chunk_clusters(&clusters, self.config.load_chunk) {
            store.registry_tx(|tx| -> Result<()> {
                for (root, indices) in chunk {
                    let cci = &cci_of_root[root];
                    tx.insert_person(cci, change.at)?;
                    for &index in indices.iter() {
                        let id = ids[index as usize];
                        tx.link(id, cci, false, change.at, Some("initial load"))?;
                        tx.add_block_keys(id, &block_keys(data, index as usize))?;
                    }
                    let detail = serde_json::json!({
                        "initial_load": true,
                        "records": indices.iter().map(|&i| data.label(i as usize)).collect::<Vec<_>>(),
                        "model_version": model_version,
                    });
                    tx.add_event(cci, "created", change.actor, change.at, change.reason, &detail.to_string())?;
                }
                Ok(())
            })?;
            for (_, indices) in chunk {
                done += indices.len() as u64;
            }
            summary.persons_created += chunk.len() as u64;
            progress(done, total);
        }
        summary.records = total;
        summary.linked_to_existing = total - summary.persons_created;
        store.registry_tx(|tx| -> Result<()> {
            for &(a, b, weight, grade) in reviews.values() {
                let (record, candidate) = (ids[b as usize], ids[a as usize]);
                summary.queued_for_review += u64::from(tx.add_review(
                    record,
                    candidate,
                    grade.as_str(),
                    milli(weight),
                    model_version,
                    change.at,
                )?);
            }
            Ok(())
        })?;
        store.registry().analyze()?;
        Ok(summary)
    }
}

impl Registry {
    /// Trains a new model version on every stored record and saves it; later matches use it.
    /// Existing persons and links are not touched: identifiers never change on a retrain.
    pub fn train(&mut self, store: &mut Store, change: Change<'_>) -> Result<i64> {
        let mut records: Vec<RegistryRecord> = Vec::new();
        let mut after = 0;
        loop {
            let page = store.registry().records_page(after, 50_000)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            records.extend(page);
        }
        if records.is_empty() {
            return Err(RegistryError::Refused(
                "the store holds no person records to train on: ingest agency extracts first"
                    .into(),
            ));
        }
        let inputs = records.iter().map(to_input).collect();
        drop(records);
        let output = linkage::link(inputs, &self.link_config(None), &mut |_| {});
        self.save_model(store, &output, change, change.reason.unwrap_or("retrained"))
    }

    /// How the batch engine links for the registry: every pair down to `possible` is scored
    /// (the grades are applied afterwards), with `model` or a newly trained one.
    fn link_config(&self, model: Option<linkage::Model>) -> LinkConfig {
        LinkConfig {
            mode: Mode::LinkAndDedupe,
            threshold: self.config.possible_probability,
            max_block: self.config.max_block,
            model,
            nicknames: self.config.nicknames.clone(),
            train: self.config.train,
            seed: self.config.train.seed,
            ..LinkConfig::default()
        }
    }

    /// Saves a run's model with its prior and the population's name counts as a new version,
    /// and scores with it from now on.
    fn save_model(
        &mut self,
        store: &mut Store,
        output: &linkage::LinkOutput,
        change: Change<'_>,
        note: &str,
    ) -> Result<i64> {
        let data = &output.data;
        let mut counts: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        for record in &data.records {
            for (field, name) in [("given", record.given), ("family", record.family)] {
                if let Some(info) = name.and_then(|i| data.names.get(i as usize)) {
                    *counts.entry((field, info.full.as_str())).or_default() += 1;
                }
            }
        }
        let name_counts: Vec<(&str, &str, i64)> =
            counts.into_iter().map(|((f, n), c)| (f, n, c)).collect();
        let json = output.model.to_json();
        let population = data.records.len() as i64;
        let version = store.registry_tx(|tx| {
            tx.save_model(
                change.at,
                &json,
                output.prior_weight,
                population,
                Some(note),
                &name_counts,
            )
        })?;
        self.model = Some(LoadedModel {
            version,
            model: output.model.clone(),
            prior: output.prior_weight,
            population,
        });
        Ok(version)
    }
}

/// Groups whole clusters into chunks of about `size` records.
fn chunk_clusters<'a>(
    clusters: &'a [(&'a u32, &'a Vec<u32>)],
    size: usize,
) -> Vec<&'a [(&'a u32, &'a Vec<u32>)]> {
    let mut out = Vec::new();
    let (mut start, mut records) = (0, 0);
    for (i, (_, members)) in clusters.iter().enumerate() {
        records += members.len();
        if records >= size.max(1) {
            out.push(&clusters[start..=i]);
            start = i + 1;
            records = 0;
        }
    }
    if start < clusters.len() {
        out.push(&clusters[start..]);
    }
    out
}
