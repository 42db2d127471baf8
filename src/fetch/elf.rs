//! Copies plain float arrays out of a shared library's exported data symbols into `.npy`
//! files. Debian's `libcodec2` has trained speech-codec codebooks compiled in (the LPCNet
//! multi-stage VQ tables, `float[5][4096][18]`), and the library is the only packaged form of
//! them; reading the ELF symbol table gets them without loading or running the library.
//!
//! Only arrays of plain `f32` are read. Tables that are structs holding pointers (codec2's
//! `lsp_codebook`, LPCNet's layer structs) would need relocations and are not attempted. Every
//! size is checked: the symbol's size must be exactly the expected array, inside a section
//! with file data.

use std::io::Write;
use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

use super::sources::ElfTable;
use crate::data::npy::write_header;
use crate::data::raw::{map_readonly, write_file};
use crate::error::{Error, Result};

const FORMAT: &str = "ELF shared library";

/// Write each of `tables` from the library at `lib` to `work/<table.output>` as a 2-D `<f4`
/// `.npy`: the kept block `keep` of the array, with every axis but the last flattened into rows
/// (row-major, so for `[stages, entries, dim]` row `s·entries + i` is stage `s`, entry `i`).
/// Returns the written shapes.
pub fn extract_tables(lib: &Path, tables: &[ElfTable], work: &Path) -> Result<Vec<[usize; 2]>> {
    let mapped = map_readonly(lib)?;
    let bad = |reason: String| Error::BadHeader {
        path: lib.to_path_buf(),
        format: FORMAT,
        reason,
    };
    let file = object::File::parse(mapped.bytes()).map_err(|e| bad(e.to_string()))?;
    let little = file.is_little_endian();
    let mut shapes = Vec::with_capacity(tables.len());
    for table in tables {
        let (rows, dim) = check_table(table).map_err(&bad)?;
        let symbol = file
            .dynamic_symbols()
            .chain(file.symbols())
            .find(|s| s.name() == Ok(table.symbol))
            .ok_or_else(|| bad(format!("no exported symbol '{}'", table.symbol)))?;
        let want = (table.symbol_len as u64).saturating_mul(4);
        if symbol.size() != want {
            return Err(bad(format!(
                "symbol '{}' has {} bytes; expected {want} (float[{}]); another build of the library?",
                table.symbol,
                symbol.size(),
                table.symbol_len
            )));
        }
        let section = symbol
            .section_index()
            .and_then(|i| file.section_by_index(i).ok())
            .ok_or_else(|| bad(format!("symbol '{}' is not in a section", table.symbol)))?;
        if section.kind() == SectionKind::UninitializedData {
            return Err(bad(format!(
                "symbol '{}' is in an uninitialised section",
                table.symbol
            )));
        }
        let data = section
            .data_range(symbol.address(), want)
            .ok()
            .flatten()
            .ok_or_else(|| {
                bad(format!(
                    "symbol '{}' does not lie inside its section's file data",
                    table.symbol
                ))
            })?;
        let out_path = work.join(table.output);
        write_block(&out_path, data, table, little, rows, dim)?;
        shapes.push([rows, dim]);
    }
    Ok(shapes)
}

/// Check a table's shapes; the output `[rows, dim]`.
fn check_table(t: &ElfTable) -> std::result::Result<(usize, usize), String> {
    let full_len = t
        .full_shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d));
    if full_len != Some(t.symbol_len) {
        return Err(format!(
            "table '{}': shape {:?} does not hold {} values",
            t.symbol, t.full_shape, t.symbol_len
        ));
    }
    let Some((&dim, lead)) = t.keep.split_last() else {
        return Err(format!("table '{}': empty kept shape", t.symbol));
    };
    if t.keep.len() != t.full_shape.len()
        || t.keep.iter().zip(t.full_shape).any(|(k, f)| k > f)
        || dim == 0
    {
        return Err(format!(
            "table '{}': kept block {:?} does not fit {:?}",
            t.symbol, t.keep, t.full_shape
        ));
    }
    // Bounded by symbol_len, so no overflow.
    let rows = lead.iter().product();
    Ok((rows, dim))
}

fn write_block(
    path: &Path,
    data: &[u8],
    t: &ElfTable,
    little: bool,
    rows: usize,
    dim: usize,
) -> Result<()> {
    write_file(path, |out| {
        write_header(out, "<f4", &[rows, dim])?;
        // Strides of the full array, in elements.
        let rank = t.full_shape.len();
        let mut strides = vec![1usize; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * t.full_shape[i + 1];
        }
        let lead = &t.keep[..rank - 1];
        let mut index = vec![0usize; rank - 1];
        let mut row = Vec::with_capacity(dim * 4);
        for _ in 0..rows {
            let start: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
            row.clear();
            for chunk in data[start * 4..(start + dim) * 4].chunks_exact(4) {
                let b = [chunk[0], chunk[1], chunk[2], chunk[3]];
                let v = if little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                row.extend(v.to_le_bytes());
            }
            out.write_all(&row)?;
            // Odometer over the leading axes of the kept block.
            for axis in (0..lead.len()).rev() {
                index[axis] += 1;
                if index[axis] < lead[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
        Ok(())
    })
}
