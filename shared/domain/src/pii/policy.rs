//! Which regions' national phone formats redaction knows. International formats (`+…`,
//! `00…`) are recognised for every country whatever this says; a national format (`0170
//! 1234567`) carries no country, so it is checked against each configured region's
//! numbering plan. More regions find more national numbers and cost CPU per candidate.

use phonenumber::country::Id;
use std::str::FromStr;
use std::sync::LazyLock;

use super::phone::RegionPlan;

/// The default regions: US/Canada, UK, Germany, France, Spain, Italy, the Netherlands,
/// India, Japan, Brazil, Australia, plus Austria, Switzerland, Belgium and Ireland (whose
/// national numbers all start with a trunk `0`, so they cost no false positives).
/// Regions without a trunk prefix and with permissive plans (Mexico, Portugal) make more
/// ten- and nine-digit amounts and references look like numbers: add them when your users
/// are there. `zts serve --pii-regions` and the template's `PiiRegions` parameter take the
/// same comma-separated ISO 3166 codes.
pub const DEFAULT_PII_REGIONS: &str = "US,CA,GB,DE,FR,ES,IT,NL,IN,JP,BR,AU,AT,CH,BE,IE";

/// How many regions a list may name: each one is a numbering plan tried on every national
/// candidate, so the list bounds the CPU a create can cost.
pub const MAX_PII_REGIONS: usize = 40;

#[derive(Debug, Clone)]
pub struct PiiPolicy {
    plans: Vec<RegionPlan>,
}

impl PartialEq for PiiPolicy {
    fn eq(&self, other: &Self) -> bool {
        self.regions() == other.regions()
    }
}

impl Eq for PiiPolicy {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiRegionsError {
    #[error(
        "{0:?} is not a region with a phone numbering plan; use ISO 3166 codes such as US,GB,DE"
    )]
    Unknown(String),
    #[error("the region list is empty; name at least one region, e.g. {DEFAULT_PII_REGIONS}")]
    Empty,
    #[error("{0} regions named; at most {MAX_PII_REGIONS}")]
    TooMany(usize),
}

static DEFAULT: LazyLock<PiiPolicy> = LazyLock::new(|| PiiPolicy {
    plans: DEFAULT_PII_REGIONS
        .split(',')
        .filter_map(|code| Id::from_str(code).ok())
        .map(RegionPlan::new)
        .collect(),
});

impl PiiPolicy {
    /// Parses a comma-separated list of region codes (`"US,GB,DE"`; case and spaces
    /// ignored, duplicates dropped).
    pub fn from_regions(list: &str) -> Result<Self, PiiRegionsError> {
        let mut regions: Vec<Id> = Vec::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let id = Id::from_str(&code.to_ascii_uppercase())
                .map_err(|_| PiiRegionsError::Unknown(code.to_string()))?;
            if !regions.contains(&id) {
                regions.push(id);
            }
        }
        match regions.len() {
            0 => Err(PiiRegionsError::Empty),
            n if n > MAX_PII_REGIONS => Err(PiiRegionsError::TooMany(n)),
            _ => Ok(PiiPolicy {
                plans: regions.into_iter().map(RegionPlan::new).collect(),
            }),
        }
    }

    /// The policy with [`DEFAULT_PII_REGIONS`], shared.
    pub fn default_regions() -> &'static PiiPolicy {
        &DEFAULT
    }

    /// The configured regions as ISO codes, in the order given.
    pub fn regions(&self) -> Vec<&str> {
        self.plans.iter().map(|plan| plan.id.as_ref()).collect()
    }

    pub(super) fn plans(&self) -> &[RegionPlan] {
        &self.plans
    }

    /// Loads the numbering plans and compiles the patterns redaction uses (about 0.15 s of
    /// CPU, once per process; the README states it), so a create does not pay for it. Call it
    /// at start-up, or on a thread while the first requests are served.
    pub fn warm_up(&self) {
        let mut report = super::RedactionReport::default();
        let _ = self.redact_text("warm-up: +1 201 555 0123, 0170 1234567", &mut report);
        for plan in &self.plans {
            plan.warm_up();
        }
    }
}

impl Default for PiiPolicy {
    fn default() -> Self {
        DEFAULT.clone()
    }
}
