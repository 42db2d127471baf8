//! `Rows`: a dense row-major f32 matrix, the one in-memory shape every population and codec uses.

/// A dense row-major matrix of `n` rows × `dim` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    dim: usize,
    data: Vec<f32>,
}

impl Rows {
    /// Build from row-major data; `data.len()` must be a multiple of `dim` (`dim > 0`).
    pub fn new(dim: usize, data: Vec<f32>) -> Self {
        assert!(dim > 0, "Rows::new: dim must be positive");
        assert_eq!(
            data.len() % dim,
            0,
            "Rows::new: data length not a multiple of dim"
        );
        Rows { dim, data }
    }

    /// An empty matrix of the given width.
    pub fn empty(dim: usize) -> Self {
        Rows::new(dim, Vec::new())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Number of columns.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// All rows in order.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(self.dim)
    }

    /// The flat row-major data.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// Append one row (must have `dim` values).
    pub fn push(&mut self, row: &[f32]) {
        assert_eq!(row.len(), self.dim, "Rows::push: wrong row length");
        self.data.extend_from_slice(row);
    }

    /// A new matrix made of the given rows, in the given order.
    pub fn select(&self, indices: &[usize]) -> Rows {
        let mut data = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Rows::new(self.dim, data)
    }
}
