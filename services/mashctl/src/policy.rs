//! `mashctl policy`: reading and changing the disclosure policy safely,
//! locally from the policy files, with no broker needed.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use mash_domain::{AgeBand, Category, ConsentState, LawfulBasis, Level, Purpose, Relation, Sensitivity};
use mash_policy::{Context, Policy, PolicyFiles, Role};

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// The tier the policy gives an item in a context, and the rules that produced it.
    Explain(ExplainArgs),
    /// Every decision that would change from the OLD policy directory to the
    /// NEW, over a fixed set of contexts: every role, level, purpose, consent
    /// state, relation, category and age, on each level's usual lawful basis.
    Diff { old: PathBuf, new: PathBuf },
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// researcher or manager.
    #[arg(long, default_value = "researcher")]
    role: String,
    /// 1, 2 or 3.
    #[arg(long)]
    level: String,
    /// front-door-decision, strategy-discussion or early-help-assessment.
    #[arg(long, default_value = "front-door-decision")]
    purpose: String,
    /// children-act-1989-s47, children-act-1989-s17 or consent; by default the level's usual one.
    #[arg(long)]
    basis: Option<String>,
    /// given, refused or not-sought.
    #[arg(long, default_value = "not-sought")]
    consent: String,
    /// The subject's relation to the child: child, sibling, parent-or-carer or other-adult.
    #[arg(long, default_value = "child")]
    relation: String,
    /// e.g. police/domestic-abuse.
    #[arg(long)]
    category: String,
    /// standard, sensitive or restricted; by default the category's own.
    #[arg(long)]
    sensitivity: Option<String>,
    /// recent (within 12 months) or historic.
    #[arg(long, default_value = "recent")]
    age: String,
    #[arg(long, default_value = "policy")]
    dir: PathBuf,
}

pub(crate) async fn run(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Explain(args) => {
            let policy = load(&args.dir).await?;
            let context = explain_context(&args)?;
            let decision = policy.disclosure.decide(&context);
            println!("policy   {}", policy.version());
            println!("context  {context}");
            println!("tier     {}", decision.tier);
            println!("because  {}", decision.reason);
            Ok(())
        }
        PolicyCommand::Diff { old, new } => {
            // One process has one registry of agencies, and the decisions are
            // compared category by category.
            let agencies = |dir: &Path| std::fs::read(dir.join("agencies.csv")).ok();
            anyhow::ensure!(
                agencies(&old) == agencies(&new),
                "the two policies list different agencies or categories (agencies.csv); compare those files \
                 directly, then the policies over the same agencies.csv"
            );
            let (old, new) = (load(&old).await?, load(&new).await?);
            let changes = changes(&old, &new);
            for change in &changes {
                println!("{change}");
            }
            println!(
                "{} of {} decisions change ({} -> {})",
                changes.len(),
                contexts().len(),
                old.version(),
                new.version()
            );
            Ok(())
        }
    }
}

fn explain_context(args: &ExplainArgs) -> anyhow::Result<Context> {
    let level = Level::parse("--level", &args.level)?;
    let category = Category::parse("--category", &args.category)?;
    Ok(Context {
        role: parse_role(&args.role)?,
        level,
        purpose: Purpose::parse("--purpose", &args.purpose)?,
        basis: match &args.basis {
            Some(raw) => LawfulBasis::parse("--basis", raw)?,
            None => usual_basis(level),
        },
        consent: ConsentState::parse("--consent", &args.consent)?,
        relation: Relation::parse("--relation", &args.relation)?,
        category,
        sensitivity: match &args.sensitivity {
            Some(raw) => Sensitivity::parse("--sensitivity", raw)?,
            None => category.sensitivity(),
        },
        age: AgeBand::parse("--age", &args.age)?,
    })
}

fn usual_basis(level: Level) -> LawfulBasis {
    match level {
        Level::ChildProtection => LawfulBasis::Section47,
        Level::ChildInNeed => LawfulBasis::Section17,
        Level::EarlyHelp => LawfulBasis::Consent,
    }
}

async fn load(dir: &Path) -> anyhow::Result<Policy> {
    Ok(Policy::load(&PolicyFiles::in_dir(dir)).await?)
}

fn parse_role(raw: &str) -> anyhow::Result<Role> {
    Role::ALL
        .into_iter()
        .find(|r| r.as_str() == raw)
        .ok_or_else(|| anyhow::anyhow!("--role must be researcher or manager"))
}

/// The fixed set `diff` compares over. Items are at their category's own
/// sensitivity: restricted ones are held whatever the policy says.
fn contexts() -> Vec<Context> {
    let mut out = Vec::new();
    for category in Category::all() {
        for role in Role::ALL {
            for &level in Level::ALL {
                for &purpose in Purpose::ALL {
                    for &consent in ConsentState::ALL {
                        for &relation in Relation::ALL {
                            for &age in AgeBand::ALL {
                                let basis = usual_basis(level);
                                let sensitivity = category.sensitivity();
                                out.push(Context {
                                    role,
                                    level,
                                    purpose,
                                    basis,
                                    consent,
                                    relation,
                                    category,
                                    sensitivity,
                                    age,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// One line per decision that differs between the two policies.
fn changes(old: &Policy, new: &Policy) -> Vec<String> {
    contexts()
        .into_iter()
        .filter_map(|context| {
            let (before, after) = (old.disclosure.decide(&context), new.disclosure.decide(&context));
            (before.tier != after.tier)
                .then(|| format!("{context}: {} -> {}  (now: {})", before.tier, after.tier, after.reason))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy")
    }

    #[tokio::test]
    async fn diff_shows_exactly_the_decisions_a_change_moves() {
        let dir = std::env::temp_dir().join(format!("mashctl-policy-diff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for entry in std::fs::read_dir(shipped()).expect("policy dir").flatten() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
        let file = dir.join("disclosure_policy.csv");
        let text = std::fs::read_to_string(&file).expect("read");
        const LINE: &str = "p, *, 2, *, *, *, *, health/*,      *, *, summary, allow";
        assert!(text.contains(LINE), "the test edits this line");
        std::fs::write(&file, text.replace(LINE, "p, *, 2, *, *, *, *, health/*, *, *, detail, allow")).expect("write");
        let (old, new) = (load(&shipped()).await.expect("old"), load(&dir).await.expect("new"));
        let changed = changes(&old, &new);
        // Six non-restricted health categories at level 2, for 2 roles × 3
        // purposes × 3 consents × 4 relations × 2 ages; minus what denies keep
        // at summary (other adults; an early help purpose does not touch
        // health) and what was already detail (the child's, with consent).
        // Per category: 2 roles × 3 purposes × 2 ages × (3 consents × 2
        // relations (sibling, parent) + 2 consents × 1 (child without consent)) = 96.
        assert_eq!(changed.len(), 6 * 96, "{changed:#?}");
        assert!(
            changed.iter().all(|c| c.contains("level 2") && c.contains("health/") && c.contains("summary -> detail"))
        );
        assert!(changes(&old, &old).is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }
}
