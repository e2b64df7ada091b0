//! `salvor verify`.

use super::Exit;
use clap::Args;
use salvor::verify::{self, VerifyOptions};
use salvor_carvers::records::Verdict;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A record (SI, 電子封裝檔, DI, SW, VEO), a folder of them, a ZIP (VEO v3 included) or a
    /// `.dsicdp` container. Never modified.
    pub path: PathBuf,
    /// Print the whole report as JSON (every record, signature and component with its verdict).
    #[arg(long)]
    pub json: bool,
    /// Also write the report as JSON to this file (must not exist).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the restored bytes of every component a benign transform proved into this folder
    /// (new or empty).
    #[arg(long)]
    pub restore: Option<PathBuf>,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<Exit> {
    let opts = VerifyOptions {
        restore_dir: args.restore.clone(),
    };
    let rep = verify::verify_path(&args.path, &opts)?;
    let json = serde_json::to_string_pretty(&rep)?;
    if let Some(p) = &args.report {
        if p.exists() {
            anyhow::bail!(
                "{} exists; the report is never written over a file",
                p.display()
            );
        }
        salvor::carve::write_atomic(p, json.as_bytes())?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{}", verify::render_text(&rep));
    }
    Ok(if rep.verdict == Verdict::Broken {
        Exit::NothingFound
    } else {
        Exit::Found
    })
}
