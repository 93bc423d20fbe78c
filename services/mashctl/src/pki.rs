//! `mashctl pki`: the development certificates and keys for running the
//! services as separate processes (`deploy/local/`), without starting them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use mash_domain::Agency;
use mash_pki::{CertPaths, DevPki};
use mash_system::Endpoints;

#[derive(Debug, Args)]
pub(crate) struct PkiArgs {
    /// Writes `pki/` (CA, certificates, keys), `keys/` (encryption key rings,
    /// checkpoint signing key) and, with --base-port, `endpoints.json` here.
    #[arg(long)]
    out: PathBuf,
    /// Write `endpoints.json` for a broker on this port of 127.0.0.1 and the
    /// feeds on the next four (police, health, education, social-care), as
    /// `mashctl up --base-port` lays them out.
    #[arg(long)]
    base_port: Option<u16>,
    /// The policy directory whose `agencies.csv` names the agencies to issue
    /// feed, system and gatekeeper certificates for (default: the shipped four).
    #[arg(long)]
    policy_dir: Option<PathBuf>,
}

pub(crate) fn run(args: PkiArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.policy_dir {
        let path = mash_policy::PolicyFiles::in_dir(dir).agencies;
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        mash_domain::registry::install(&text)?;
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    // Absolute, so that endpoints.json works from any directory.
    let out = std::path::absolute(&args.out)?;
    let pki_dir = out.join("pki");
    // Existing material is kept: new keys would make every sealed row unreadable,
    // and a new CA would lock out every running service.
    if pki_dir.join("ca.pem").exists() {
        println!("kept         {}", pki_dir.display());
    } else {
        DevPki::generate(&pki_dir, "MASH development CA", &mash_pki::demo_principals())?;
        println!("certificates {}", pki_dir.display());
    }
    let keys = out.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("creating {}", keys.display()))?;
    // Every service that holds an encryption key ring: the broker and each feed.
    let feeds = Agency::all().iter().map(|agency| format!("feed-{agency}"));
    for service in std::iter::once("broker".to_owned()).chain(feeds) {
        let path = keys.join(format!("{service}.json"));
        if !path.exists() {
            mash_seal::KeyRing::write_new(&path, &format!("{service}-1"))?;
        }
    }
    let signing_key = mash_system::signing_key_file(&out)?;
    println!("keys         {}", keys.display());
    if let Some(base_port) = args.base_port {
        let path = out.join("endpoints.json");
        let endpoints = endpoints(&pki_dir, base_port, signing_key.with_extension("pub"))?;
        std::fs::write(&path, serde_json::to_vec_pretty(&endpoints)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("endpoints    {}", path.display());
    }
    Ok(())
}

fn endpoints(pki_dir: &Path, base_port: u16, log_key: PathBuf) -> anyhow::Result<Endpoints> {
    let uri = |offset: u16| -> anyhow::Result<String> {
        let port = base_port.checked_add(offset).context("--base-port is too high for five ports")?;
        Ok(format!("https://127.0.0.1:{port}"))
    };
    let feeds = (1..)
        .zip(Agency::all())
        .map(|(offset, agency)| Ok((agency.as_str().to_owned(), uri(offset)?)))
        .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
    let identities = mash_pki::demo_principals()
        .iter()
        .map(|principal| {
            let paths = CertPaths {
                ca: pki_dir.join("ca.pem"),
                cert: pki_dir.join(format!("{}.pem", principal.name)),
                key: pki_dir.join(format!("{}.key", principal.name)),
            };
            (principal.name.to_owned(), paths)
        })
        .collect::<BTreeMap<_, _>>();
    Ok(Endpoints { broker: uri(0)?, feeds, ca: pki_dir.join("ca.pem"), identities, log_key })
}
