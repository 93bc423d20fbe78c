//! The disclosure decision: casbin decides, a cache remembers.
//!
//! The context space (role × level × purpose × basis × consent × relation ×
//! category × sensitivity × age) has about 200,000 points, too many to
//! compile at load at some 50 µs an enforce. A check meets only a handful of
//! them, so each is decided by casbin the first time it is met and looked up
//! afterwards. A loaded policy never changes (a reload builds a new one with
//! an empty cache), so a remembered decision never goes stale.

use std::{
    collections::HashMap,
    sync::{Mutex, RwLock},
};

use casbin::CoreApi;
use mash_domain::{AgeBand, Category, ConsentState, LawfulBasis, Level, Purpose, Relation, Sensitivity, Tier};

use crate::{PolicyError, Role, Source};

/// Everything the disclosure policy decides from, for one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Context {
    pub role: Role,
    pub level: Level,
    pub purpose: Purpose,
    pub basis: LawfulBasis,
    pub consent: ConsentState,
    pub relation: Relation,
    pub category: Category,
    pub sensitivity: Sensitivity,
    pub age: AgeBand,
}

impl Context {
    fn request(&self, tier: Tier) -> [&'static str; 10] {
        [
            self.role.as_str(),
            self.level.as_str(),
            self.purpose.as_str(),
            self.basis.as_str(),
            self.consent.as_str(),
            self.relation.as_str(),
            self.category.as_str(),
            self.sensitivity.as_str(),
            self.age.as_str(),
            tier.as_str(),
        ]
    }
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [role, level, purpose, basis, consent, relation, category, sensitivity, age, _] = self.request(Tier::None);
        write!(
            f,
            "{role} at level {level}, {purpose}, basis {basis}, consent {consent}; \
             {sensitivity} {age} {category} item about the {relation}"
        )
    }
}

/// The highest tier allowed in one context, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub tier: Tier,
    /// The policy lines that decided it, e.g. `p, *, 3, …, police/*, *, *, detail, allow`,
    /// or why nothing was allowed.
    pub reason: String,
}

impl Decision {
    fn refused(reason: impl Into<String>) -> Self {
        Self { tier: Tier::None, reason: reason.into() }
    }
}

const TIERS_HIGHEST_FIRST: [Tier; 3] = [Tier::Detail, Tier::Summary, Tier::Existence];

/// The disclosure enforcer and the decisions it has made.
pub struct DisclosurePolicy {
    /// casbin's enforcer is not `Sync`; the lock is held for one decision.
    enforcer: Mutex<casbin::Enforcer>,
    decided: RwLock<HashMap<Context, Decision>>,
}

impl std::fmt::Debug for DisclosurePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DisclosurePolicy")
    }
}

impl DisclosurePolicy {
    pub(crate) async fn load(model: Source<'_>, policy: Source<'_>) -> Result<Self, PolicyError> {
        let enforcer = crate::enforcer(model, policy).await?;
        Ok(Self { enforcer: Mutex::new(enforcer), decided: RwLock::default() })
    }

    /// The highest tier `context` may see. An evaluation error refuses.
    pub fn decide(&self, context: &Context) -> Decision {
        if let Some(decision) = self.decided.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(context) {
            return decision.clone();
        }
        match self.evaluate(context) {
            Ok(decision) => {
                let mut decided = self.decided.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                decided.insert(*context, decision.clone());
                decision
            }
            // Not remembered: an evaluation error is refused every time it happens.
            Err(error) => {
                tracing::error!(%error, "disclosure policy failed to evaluate; refusing");
                Decision::refused("the policy failed to evaluate")
            }
        }
    }

    /// Whether `context` is allowed at least `tier`, asked of casbin
    /// directly: validation walks contexts it need not remember.
    pub(crate) fn allows(&self, context: &Context, tier: Tier) -> casbin::Result<bool> {
        let enforcer = self.enforcer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        enforcer.enforce(context.request(tier).to_vec())
    }

    fn evaluate(&self, context: &Context) -> casbin::Result<Decision> {
        let enforcer = self.enforcer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for tier in TIERS_HIGHEST_FIRST {
            let (allowed, rules) = enforcer.enforce_ex(context.request(tier).to_vec())?;
            if allowed {
                return Ok(Decision { tier, reason: explain(&rules) });
            }
        }
        // Explain a refusal by the deny rules that match the lowest tier, if any.
        let (_, rules) = enforcer.enforce_ex(context.request(Tier::Existence).to_vec())?;
        let denials: Vec<Vec<String>> =
            rules.into_iter().filter(|rule| rule.last().is_some_and(|e| e == "deny")).collect();
        Ok(Decision::refused(if denials.is_empty() {
            "no rule allows it".to_owned()
        } else {
            format!("denied by {}", explain(&denials))
        }))
    }
}

fn explain(rules: &[Vec<String>]) -> String {
    rules.iter().map(|rule| format!("p, {}", rule.join(", "))).collect::<Vec<_>>().join("; ")
}

/// Every context with the given category, in a fixed order: what validation
/// and `policy diff` walk.
pub fn contexts_for(category: Category) -> Vec<Context> {
    let base = Context {
        role: Role::Researcher,
        level: Level::EarlyHelp,
        purpose: Purpose::FrontDoorDecision,
        basis: LawfulBasis::Consent,
        consent: ConsentState::Given,
        relation: Relation::Child,
        category,
        sensitivity: category.sensitivity(),
        age: AgeBand::Recent,
    };
    let sensitivities: Vec<Sensitivity> =
        Sensitivity::ALL.iter().copied().filter(|s| *s >= category.sensitivity()).collect();
    let contexts = expand(vec![base], &Role::ALL, |c, v| c.role = v);
    let contexts = expand(contexts, Level::ALL, |c, v| c.level = v);
    let contexts = expand(contexts, Purpose::ALL, |c, v| c.purpose = v);
    let contexts = expand(contexts, LawfulBasis::ALL, |c, v| c.basis = v);
    let contexts = expand(contexts, ConsentState::ALL, |c, v| c.consent = v);
    let contexts = expand(contexts, Relation::ALL, |c, v| c.relation = v);
    let contexts = expand(contexts, &sensitivities, |c, v| c.sensitivity = v);
    expand(contexts, AgeBand::ALL, |c, v| c.age = v)
}

/// Each context once for every value of one more dimension.
fn expand<T: Copy>(contexts: Vec<Context>, values: &[T], set: impl Fn(&mut Context, T)) -> Vec<Context> {
    let mut out = Vec::with_capacity(contexts.len() * values.len());
    for context in contexts {
        for &value in values {
            let mut next = context;
            set(&mut next, value);
            out.push(next);
        }
    }
    out
}
