//! The disclosure decision, compiled from casbin into a table.

use std::{collections::HashMap, path::Path};

use casbin::CoreApi;
use mash_domain::{Category, Level, Tier};

use crate::{PolicyError, Role};

/// The highest tier allowed for one (role, level, category), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub tier: Tier,
    /// The policy lines that decided it, e.g. `p, *, 3, police/*, detail, allow`,
    /// or why nothing was allowed.
    pub reason: String,
}

/// Every decision the disclosure policy can make, computed once at load, so
/// that deciding an item is a hash lookup rather than a casbin evaluation.
#[derive(Debug)]
pub struct DisclosureTable {
    decisions: HashMap<(Role, Level, Category), Decision>,
}

const TIERS_HIGHEST_FIRST: [Tier; 3] = [Tier::Detail, Tier::Summary, Tier::Existence];

impl DisclosureTable {
    pub(crate) async fn compile(model: &Path, policy: &Path) -> Result<Self, PolicyError> {
        let enforcer = crate::enforcer(model, policy).await?;
        let mut decisions = HashMap::new();
        for role in Role::ALL {
            for level in Level::ALL.iter().copied() {
                for category in Category::all() {
                    let decision = decide(&enforcer, role, level, category).map_err(|e| PolicyError::Casbin {
                        path: policy.display().to_string(),
                        message: e.to_string(),
                    })?;
                    decisions.insert((role, level, category), decision);
                }
            }
        }
        Ok(Self { decisions })
    }

    pub fn decide(&self, role: Role, level: Level, category: Category) -> Decision {
        // The table covers the whole closed space; a miss would be a bug, and
        // refusing is the safe answer to a bug.
        self.decisions
            .get(&(role, level, category))
            .cloned()
            .unwrap_or_else(|| Decision { tier: Tier::None, reason: "no decision compiled".into() })
    }
}

fn decide(enforcer: &casbin::Enforcer, role: Role, level: Level, category: Category) -> casbin::Result<Decision> {
    for tier in TIERS_HIGHEST_FIRST {
        let (allowed, rules) =
            enforcer.enforce_ex((role.as_str(), level.as_str(), category.as_str(), tier.as_str()))?;
        if allowed {
            return Ok(Decision { tier, reason: explain(&rules) });
        }
    }
    // Explain a refusal by the deny rules that match the lowest tier, if any.
    let (_, rules) =
        enforcer.enforce_ex((role.as_str(), level.as_str(), category.as_str(), Tier::Existence.as_str()))?;
    let denials: Vec<Vec<String>> = rules.into_iter().filter(|rule| rule.last().is_some_and(|e| e == "deny")).collect();
    let reason =
        if denials.is_empty() { "no rule allows it".to_owned() } else { format!("denied by {}", explain(&denials)) };
    Ok(Decision { tier: Tier::None, reason })
}

fn explain(rules: &[Vec<String>]) -> String {
    rules.iter().map(|rule| format!("p, {}", rule.join(", "))).collect::<Vec<_>>().join("; ")
}
