//! `ProbeKind`: which probe produced a row (or which one to run). It lives with the rows, below
//! the probes, the runner and the reports, because every one of them names probes.

use crate::choice::Choice;

/// Which probe to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// P5: weights replaced in the real MiniLM forward pass.
    Chain,
    /// P7: within-family nearest-neighbour recall.
    Family,
    /// P1: spiral coordinate sampling against equal-byte controls.
    Spiral,
    /// Row identity (gate 2 of index tensors).
    Identity,
    /// P9: the palette + leaf hybrid at six bit layouts.
    Resolution,
    /// All of the above.
    All,
}

impl Choice for ProbeKind {
    const ALL: &'static [Self] = &[
        ProbeKind::Chain,
        ProbeKind::Family,
        ProbeKind::Spiral,
        ProbeKind::Identity,
        ProbeKind::Resolution,
        ProbeKind::All,
    ];

    fn name(self) -> &'static str {
        match self {
            ProbeKind::Chain => "chain",
            ProbeKind::Family => "family",
            ProbeKind::Spiral => "spiral",
            ProbeKind::Identity => "identity",
            ProbeKind::Resolution => "resolution",
            ProbeKind::All => "all",
        }
    }

    fn help(self) -> &'static str {
        match self {
            ProbeKind::Chain => {
                "P5: weights replaced in the real MiniLM forward pass, attention-score fidelity, \
                 and the origin's score chain as a diagnostic"
            }
            ProbeKind::Family => {
                "P7: within-family nearest-neighbour recall of several partitions, with chance Σp²"
            }
            ProbeKind::Spiral => {
                "P1: spiral coordinate sampling against equal-byte random-coordinate and JL controls"
            }
            ProbeKind::Identity => {
                "Row identity (gate 2 of index tensors): is a row's estimated nearest neighbour \
                 itself?"
            }
            ProbeKind::Resolution => {
                "P9: the palette + leaf hybrid at six bit layouts against baselines at equal bits"
            }
            ProbeKind::All => "All of the above",
        }
    }
}

impl ProbeKind {
    /// Every single probe, in the order `all` runs them.
    pub fn each() -> Vec<ProbeKind> {
        vec![
            ProbeKind::Chain,
            ProbeKind::Family,
            ProbeKind::Spiral,
            ProbeKind::Identity,
            ProbeKind::Resolution,
        ]
    }

    /// The probes a run includes by default: chain, family, spiral and identity. `--quick`
    /// leaves out the chain (it fits every codec on all 36 MiniLM weight matrices: minutes, not
    /// seconds); resolution is opt-in everywhere (it fits 1024-entry palettes and 8-bit PQ on
    /// ≥ 4096 rows per population: about a minute each).
    pub fn run_defaults(quick: bool) -> Vec<ProbeKind> {
        let mut v = ProbeKind::each();
        v.retain(|&k| k != ProbeKind::Resolution && !(quick && k == ProbeKind::Chain));
        v
    }

    /// `all` replaced by every probe; duplicates dropped; order of first mention kept.
    pub fn expand(kinds: &[ProbeKind]) -> Vec<ProbeKind> {
        let mut out = Vec::new();
        for &k in kinds {
            let items = if k == ProbeKind::All {
                ProbeKind::each()
            } else {
                vec![k]
            };
            for i in items {
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        out
    }

    /// The probe's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        Choice::name(self)
    }

    /// The `split` values (report sections) of this probe's rows.
    pub fn splits(self) -> &'static [&'static str] {
        match self {
            ProbeKind::Chain => &[CHAIN_SPLIT, ATTENTION_SPLIT, SCORECHAIN_SPLIT],
            ProbeKind::Family => &["family"],
            ProbeKind::Spiral => &["spiral"],
            ProbeKind::Identity => &["identity"],
            ProbeKind::Resolution => &["resolution"],
            ProbeKind::All => &[],
        }
    }

    /// The probe whose rows carry `split`.
    pub fn of_split(split: &str) -> Option<ProbeKind> {
        ProbeKind::each()
            .into_iter()
            .find(|k| k.splits().contains(&split))
    }
}

/// `split` of the chain probe's weight-chain rows.
pub const CHAIN_SPLIT: &str = "chain";
/// `split` of the chain probe's attention-fidelity rows.
pub const ATTENTION_SPLIT: &str = "attention";
/// `split` of the chain probe's score-chain diagnostic rows.
pub const SCORECHAIN_SPLIT: &str = "scorechain";
