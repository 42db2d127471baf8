//! Writes `.npy` headers for any simple dtype and shape. `data::npy::write_f32` writes only
//! 2-D f32 `Rows`; the fetcher also writes u8 images and labels (`|u1`, 1-D and 2-D) and
//! stays out of the loaders' module, so it has this small writer of its own.

use std::io::Write;

/// Write a version-1.0, C-order `.npy` header for `descr` (e.g. `|u1`, `<f4`) and `shape`;
/// the caller writes the data right after it.
pub fn write_header(w: &mut impl Write, descr: &str, shape: &[usize]) -> std::io::Result<()> {
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6) + version (2) + header length (2) + dict + padding + '\n' ≡ 0 (mod 64).
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(padding));
    let len = u16::try_from(header.len()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "npy header too long")
    })?;
    w.write_all(b"\x93NUMPY\x01\x00")?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(header.as_bytes())
}
