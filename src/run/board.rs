//! The board of finished cells: concurrent cells post their rows here, and the result files are
//! rewritten from it after every cell, always in plan order, so an interrupted run leaves whole
//! cells that `--resume` can keep.

use crate::error::Result;
use crate::results::ResultRow;
use std::path::Path;
use std::sync::Mutex;

/// What has finished so far, so the result files can be rewritten after every cell with every
/// finished cell in plan order (populations in order, each one's cells then its instrument
/// block), whichever order concurrent cells finish in.
pub struct Board {
    cells: Vec<Vec<Mutex<Option<Vec<ResultRow>>>>>,
    instruments: Vec<Mutex<Option<Vec<ResultRow>>>>,
    write: Mutex<()>,
}

impl Board {
    /// An empty board for `populations` × `codecs` cells.
    pub fn new(populations: usize, codecs: usize) -> Self {
        Board {
            cells: (0..populations)
                .map(|_| (0..codecs).map(|_| Mutex::new(None)).collect())
                .collect(),
            instruments: (0..populations).map(|_| Mutex::new(None)).collect(),
            write: Mutex::new(()),
        }
    }

    /// A cell finished (or was reused).
    pub fn set_cell(&self, pop: usize, codec: usize, rows: &[ResultRow]) {
        if let Ok(mut g) = self.cells[pop][codec].lock() {
            *g = Some(rows.to_vec());
        }
    }

    /// A population's instrument block finished (or was reused).
    pub fn set_instrument(&self, pop: usize, rows: &[ResultRow]) {
        if let Ok(mut g) = self.instruments[pop].lock() {
            *g = Some(rows.to_vec());
        }
    }

    /// Rewrite the result files with everything finished.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let _guard = self.write.lock();
        let mut all = Vec::new();
        let take = |m: &Mutex<Option<Vec<ResultRow>>>, all: &mut Vec<ResultRow>| {
            if let Ok(g) = m.lock()
                && let Some(r) = g.as_ref()
            {
                all.extend(r.iter().cloned());
            }
        };
        for (cells, instrument) in self.cells.iter().zip(&self.instruments) {
            for c in cells {
                take(c, &mut all);
            }
            take(instrument, &mut all);
        }
        super::output::write_results(dir, &all)
    }
}
