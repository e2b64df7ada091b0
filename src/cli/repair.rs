//! `salvor repair`.

use super::Exit;
use clap::Args;
use salvor::repair::{self, render_text};
use salvor_carvers::zip::repair::{MemberStatus, RepairOptions};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RepairArgs {
    /// The damaged package (zip, docx, xlsx, pptx, odt, epub, jar...); never modified.
    pub input: PathBuf,
    /// Where to write the rebuilt archive (must not exist).
    #[arg(short, long)]
    pub out: PathBuf,
    /// Where to write the JSON report (default: OUT.repair.json); the text report goes beside it
    /// with the extension .txt and to stdout.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Largest uncompressed size decoded per member (e.g. 64G).
    #[arg(long, value_parser = salvor::util::parse_positive_size)]
    pub max_inflated: Option<u64>,
    /// Largest inflated:compressed ratio accepted before a member counts as a bomb.
    #[arg(long, value_parser = salvor::util::parse_ratio)]
    pub max_ratio: Option<u64>,
    /// Most compressed bytes decoded while searching one member for a flipped bit.
    #[arg(long, value_parser = salvor::util::parse_size, default_value = "256M")]
    pub bitflip_budget: u64,
    /// Print the JSON report on stdout instead of the text one.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RepairArgs) -> anyhow::Result<Exit> {
    let mut opts = RepairOptions {
        bitflip_budget: args.bitflip_budget,
        ..RepairOptions::default()
    };
    if let Some(m) = args.max_inflated {
        opts.limits.max_inflated = m;
    }
    if let Some(r) = args.max_ratio {
        opts.limits.max_ratio = r;
    }
    let rec = repair::repair_file(&args.input, &args.out, &opts)?;
    let json_path = args.report.clone().unwrap_or_else(|| {
        let mut p = args.out.clone().into_os_string();
        p.push(".repair.json");
        PathBuf::from(p)
    });
    let json = serde_json::to_string_pretty(&rec)?;
    salvor::carve::write_atomic(&json_path, json.as_bytes())?;
    let text = render_text(&rec);
    salvor::carve::write_atomic(&json_path.with_extension("txt"), text.as_bytes())?;
    if args.json {
        println!("{json}");
    } else {
        print!("{text}");
    }
    let lost = rec.count(MemberStatus::Lost) + rec.count(MemberStatus::Partial);
    Ok(if lost == 0 {
        Exit::Found
    } else {
        Exit::NothingFound
    })
}
