//! `WeightKind`: which linear weights of the model a chain run replaces (q, k, v, o, up, down,
//! and the groups attn, mlp, all), parsed from the CLI and resolved to the model's tensor names.

use crate::error::{Error, Result};
use crate::model::BertModel;

/// Which linear weights a chain run replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightKind {
    /// `attention.self.query`.
    Q,
    /// `attention.self.key`.
    K,
    /// `attention.self.value`.
    V,
    /// `attention.output.dense`.
    O,
    /// `intermediate.dense` (MLP up).
    Up,
    /// `output.dense` (MLP down).
    Down,
    /// q, k, v and o.
    Attn,
    /// up and down.
    Mlp,
    /// Every linear weight of every block.
    All,
}

impl WeightKind {
    /// Every kind, in `--kind` help order.
    pub const ALL: [WeightKind; 9] = [
        WeightKind::Q,
        WeightKind::K,
        WeightKind::V,
        WeightKind::O,
        WeightKind::Up,
        WeightKind::Down,
        WeightKind::Attn,
        WeightKind::Mlp,
        WeightKind::All,
    ];

    /// Name as written on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            WeightKind::Q => "q",
            WeightKind::K => "k",
            WeightKind::V => "v",
            WeightKind::O => "o",
            WeightKind::Up => "up",
            WeightKind::Down => "down",
            WeightKind::Attn => "attn",
            WeightKind::Mlp => "mlp",
            WeightKind::All => "all",
        }
    }

    /// Parse a name (see [`WeightKind::name`]).
    pub fn parse(s: &str) -> Result<Self> {
        WeightKind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| Error::InvalidPlan {
                field: "--kind",
                reason: format!(
                    "unknown weight kind '{s}'; valid: {}",
                    WeightKind::ALL.map(|k| k.name()).join(", ")
                ),
            })
    }

    /// Whether a checkpoint part (`attention.self.key`, …) belongs to this kind.
    fn includes(self, part: &str) -> bool {
        let single = match part {
            "attention.self.query" => WeightKind::Q,
            "attention.self.key" => WeightKind::K,
            "attention.self.value" => WeightKind::V,
            "attention.output.dense" => WeightKind::O,
            "intermediate.dense" => WeightKind::Up,
            "output.dense" => WeightKind::Down,
            _ => return false,
        };
        match self {
            WeightKind::All => true,
            WeightKind::Attn => matches!(
                single,
                WeightKind::Q | WeightKind::K | WeightKind::V | WeightKind::O
            ),
            WeightKind::Mlp => matches!(single, WeightKind::Up | WeightKind::Down),
            WeightKind::Q
            | WeightKind::K
            | WeightKind::V
            | WeightKind::O
            | WeightKind::Up
            | WeightKind::Down => single == self,
        }
    }

    /// The model's weight names of this kind, in forward order.
    pub fn weight_names(self, model: &BertModel) -> Vec<String> {
        model
            .weight_names()
            .into_iter()
            .filter(|name| {
                name.strip_prefix("encoder.layer.")
                    .and_then(|rest| rest.split_once('.'))
                    .and_then(|(_, part)| part.strip_suffix(".weight"))
                    .is_some_and(|part| self.includes(part))
            })
            .collect()
    }
}

impl std::fmt::Display for WeightKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
