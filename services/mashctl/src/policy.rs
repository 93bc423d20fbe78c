//! `mashctl policy`: reading and changing the disclosure policy safely,
//! locally from the policy files, with no broker needed.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use mash_domain::{Category, Level};
use mash_policy::{Policy, PolicyFiles, Role};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The tier the policy gives, and the rules that produced it.
    Explain {
        /// researcher or manager.
        #[arg(long, default_value = "researcher")]
        role: String,
        /// 1, 2 or 3.
        #[arg(long)]
        level: String,
        /// e.g. police/domestic-abuse.
        #[arg(long)]
        category: String,
        #[arg(long, default_value = "policy")]
        dir: PathBuf,
    },
    /// Every decision that would change from the OLD policy directory to the NEW.
    Diff { old: PathBuf, new: PathBuf },
}

pub async fn run(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Explain { role, level, category, dir } => {
            let policy = load(&dir).await?;
            let role = parse_role(&role)?;
            let level = Level::parse("--level", &level)?;
            let category = Category::parse("--category", &category)?;
            let decision = policy.disclosure.decide(role, level, category);
            println!("policy   {}", policy.version());
            println!("context  {} at level {} asking about {category}", role.as_str(), level.as_str());
            println!("tier     {}", decision.tier);
            println!("because  {}", decision.reason);
            Ok(())
        }
        PolicyCommand::Diff { old, new } => {
            let (old, new) = (load(&old).await?, load(&new).await?);
            let changes = changes(&old, &new);
            for change in &changes {
                println!("{change}");
            }
            println!(
                "{} of {} decisions change ({} -> {})",
                changes.len(),
                contexts().count(),
                old.version(),
                new.version()
            );
            Ok(())
        }
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

/// Every context the disclosure policy decides: the whole closed space.
fn contexts() -> impl Iterator<Item = (Role, Level, Category)> {
    Role::ALL
        .into_iter()
        .flat_map(|role| Level::ALL.iter().map(move |level| (role, *level)))
        .flat_map(|(role, level)| Category::all().map(move |category| (role, level, category)))
}

/// One line per decision that differs between the two policies.
fn changes(old: &Policy, new: &Policy) -> Vec<String> {
    contexts()
        .filter_map(|(role, level, category)| {
            let (before, after) =
                (old.disclosure.decide(role, level, category), new.disclosure.decide(role, level, category));
            (before.tier != after.tier).then(|| {
                format!(
                    "{:<10} level {}  {:<36} {} -> {}  (now: {})",
                    role.as_str(),
                    level.as_str(),
                    category.as_str(),
                    before.tier,
                    after.tier,
                    after.reason
                )
            })
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
        std::fs::write(&file, text.replace("p, *, 2, health/*, summary, allow", "p, *, 2, health/*, detail, allow"))
            .expect("write");
        let (old, new) = (load(&shipped()).await.expect("old"), load(&dir).await.expect("new"));
        let changed = changes(&old, &new);
        // Six non-restricted health categories, for each of two roles, at level 2.
        assert_eq!(changed.len(), 12, "{changed:#?}");
        assert!(
            changed.iter().all(|c| c.contains("level 2") && c.contains("health/") && c.contains("summary -> detail"))
        );
        assert!(changes(&old, &old).is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }
}
